namespace Registry.Core.Configuration;

/// <summary>
/// The <c>email_exceptions:</c> section: where a mail about an unhandled server error (a 500) goes. On when
/// <c>smtp_host</c> is set. Mails about the same error (exception type and throwing method) are at most one per
/// <see cref="MinInterval"/>.
/// </summary>
public sealed record ErrorMailSettings
{
    public const long DefaultMinIntervalSeconds = 600;

    public required string Host { get; init; }

    public int Port { get; init; } = 25;

    /// <summary>Null: no SMTP authentication.</summary>
    public string? Login { get; init; }

    public string? Password { get; init; }

    /// <summary>
    /// As the Python registry's logging SMTPHandler took it: true means TLS, through STARTTLS on the plain port (TLS from
    /// the first byte on port 465, "implicit TLS" of RFC 8314); false means none.
    /// </summary>
    public bool Secure { get; init; }

    public required string From { get; init; }

    /// <summary>One or more recipients (<c>to_addr</c> as a list or a comma-separated string).</summary>
    public required IReadOnlyList<string> To { get; init; }

    public TimeSpan MinInterval { get; init; } = TimeSpan.FromSeconds(DefaultMinIntervalSeconds);

    internal static ErrorMailSettings? Read(SettingsReader read)
    {
        var host = Scalar(read, "email_exceptions.smtp_host");
        if (host is null) return null;
        var to = read.Get("email_exceptions.to_addr") switch
        {
            IReadOnlyList<object?> items => items.Select(i => i?.ToString()?.Trim() ?? "").Where(i => i.Length > 0).ToList(),
            _ => (Scalar(read, "email_exceptions.to_addr") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
        };
        if (to.Count == 0) throw read.Fail("email_exceptions.to_addr", "expected one or more addresses to mail errors to (smtp_host is set)");
        var from = Scalar(read, "email_exceptions.from_addr") ?? throw read.Fail("email_exceptions.from_addr", "expected the sender address of error mails (smtp_host is set)");
        // Checked here so that composing a mail in the middle of a failing request can never fail too.
        foreach (var (key, address) in to.Select(a => ("email_exceptions.to_addr", a)).Prepend(("email_exceptions.from_addr", from)))
        {
            if (!System.Net.Mail.MailAddress.TryCreate(address, out var parsed) || parsed.Address != address)
                throw read.Fail(key, $"\"{address}\" is not an e-mail address (user@host)");
        }
        return new ErrorMailSettings
        {
            Host = host,
            Port = (int)read.Integer("email_exceptions.smtp_port", 25, 1, 65535),
            Login = Scalar(read, "email_exceptions.smtp_login"),
            Password = Scalar(read, "email_exceptions.smtp_password"),
            Secure = read.Boolean("email_exceptions.smtp_secure") ?? false,
            From = from,
            To = to,
            MinInterval = TimeSpan.FromSeconds(read.Integer("email_exceptions.min_interval_seconds", DefaultMinIntervalSeconds, 0, (long)TimeSpan.MaxValue.TotalSeconds)),
        };
    }

    // An unset variable leaves "" or nothing; a login or password made only of digits arrives as a number.
    private static string? Scalar(SettingsReader read, string key) => read.Get(key) switch
    {
        null => null,
        string s => s.Trim().Length > 0 ? s.Trim() : null,
        (long or double) and var number => Convert.ToString(number, System.Globalization.CultureInfo.InvariantCulture),
        var other => throw read.Fail(key, $"expected a string, got {ConfigErrorContext.DescribeValue(other)}"),
    };
}
