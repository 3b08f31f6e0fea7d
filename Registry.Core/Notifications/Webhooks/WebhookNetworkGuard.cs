using System.Net;
using System.Net.Sockets;
using Registry.Core.Configuration;

namespace Registry.Core.Notifications.Webhooks;

/// <summary>
/// Keeps user-registered webhooks out of the registry's own network (docs/operating.md, 'Repository webhooks'). A URL
/// a user registers would otherwise let anyone who may push make the registry POST to its loopback, its cloud metadata
/// service or the private network it sits in. The check runs on the addresses each connection actually uses (in the
/// handler's connect callback, so a DNS answer that changes between check and connect cannot slip past) and on every
/// redirect hop, since each hop opens its own connection through the same callback.
/// </summary>
public sealed class WebhookNetworkGuard(WebhookSettings settings)
{
    private const int MaxRedirects = 5;

    // Special-purpose ranges (IANA IPv4 and IPv6 Special-Purpose Address Registries) that reach the host or its own network.
    private static readonly IPNetwork[] Internal =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"),
    ];

    /// <summary>True when a webhook may connect to <paramref name="address"/>.</summary>
    public bool Allows(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (settings.AllowedNetworks.Any(n => n.Contains(address))) return true;
        return !Internal.Any(n => n.Contains(address));
    }

    /// <summary>Only absolute http and https URLs are webhooks.</summary>
    public static bool IsWebhookUrl(Uri url) => url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);

    /// <summary>
    /// A handler whose every connection, redirects included, goes only to allowed addresses. No proxy: a proxy would
    /// be the address connected to, and it would reach the refused networks for us.
    /// </summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = MaxRedirects,
        ConnectCallback = ConnectAsync,
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, ct);
        // Every address must pass: a name that resolves to one public and one internal address is refused, since
        // which one a later lookup returns first is up to the resolver.
        var refused = addresses.FirstOrDefault(a => !Allows(a));
        if (refused is not null) throw new WebhookRefusedException($"{host} resolves to {refused}, which webhooks may not reach (webhooks.allowed_networks)");
        if (addresses.Length == 0) throw new WebhookRefusedException($"{host} has no address");
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }
}

/// <summary>A webhook delivery that the guard did not let out: retrying cannot help, so the delivery is dropped.</summary>
public sealed class WebhookRefusedException(string message) : IOException(message)
{
    /// <summary>The refusal inside what <see cref="HttpClient"/> threw, if that is why it failed.</summary>
    public static WebhookRefusedException? Find(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is WebhookRefusedException refused) return refused;
        return null;
    }
}
