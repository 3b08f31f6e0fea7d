using System.Net;

namespace Registry.Core.Configuration;

/// <summary>
/// The <c>webhooks:</c> section (docs/configuration.md, 'Webhooks'): <c>allowed_networks</c>, CIDRs that repository
/// webhooks may reach although they are loopback, link-local, private or otherwise internal (docs/operating.md,
/// 'Repository webhooks').
/// </summary>
public sealed record WebhookSettings
{
    /// <summary>Networks a user-registered webhook may connect to on top of the public internet.</summary>
    public IReadOnlyList<IPNetwork> AllowedNetworks { get; init; } = [];

    /// <summary>
    /// The directory of the webhook queue: <c>webhooks/</c> under the notification outbox (the notification queues'
    /// slots stay apart); null when storage is not local and <c>notifications.outbox</c> is unset (no webhook is sent).
    /// </summary>
    public string? OutboxPath { get; init; }

    internal static WebhookSettings Read(SettingsReader read, string storage, string storagePath, string workingDirectory)
    {
        var outbox = read.Text("notifications.outbox") is { } set && !string.IsNullOrWhiteSpace(set) ? set
            : storage == "file" ? Path.Combine(storagePath, NotificationSettings.DefaultOutboxDir) : null;
        const string key = "webhooks.allowed_networks";
        // A YAML list, or one string with comma-separated CIDRs (the environment variable); "" is none.
        var items = read.Get(key) switch
        {
            null => [],
            string s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
            IReadOnlyList<object?> list => list.Select(i => i as string is { Length: > 0 } s
                ? s.Trim()
                : throw read.Fail(key, $"expected a list of CIDRs such as 10.0.0.0/8, got an item {ConfigErrorContext.DescribeValue(i)}")).ToList(),
            var other => throw read.Fail(key, $"expected a list of CIDRs such as 10.0.0.0/8, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        var networks = new List<IPNetwork>();
        foreach (var item in items)
        {
            if (!IPNetwork.TryParse(item, out var network))
                throw read.Fail(key, $"\"{item}\" is not a CIDR such as 10.0.0.0/8 or fd00::/8");
            networks.Add(network);
        }
        return new WebhookSettings { AllowedNetworks = networks, OutboxPath = outbox is null ? null : Path.GetFullPath(Path.Combine(outbox, "webhooks"), workingDirectory) };
    }
}
