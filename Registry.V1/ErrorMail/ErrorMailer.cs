using System.Diagnostics;
using System.Threading.Channels;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Registry.Core.Configuration;

namespace Registry.V1.ErrorMail;

/// <summary>
/// Mails an unhandled server error (the 500 path of the error middleware) to the <c>email_exceptions:</c> recipients, as
/// the Python registry's logging SMTPHandler did: subject with the exception type and the request line, body with the
/// request, the client, the request id and the stack. <see cref="Report"/> only queues: the response is never delayed
/// or failed by the mail. One mail per exception type and throwing site per <see cref="ErrorMailSettings.MinInterval"/>;
/// the next one says how many were held back. SMTP failures are logged once until a mail goes through again.
/// </summary>
public sealed class ErrorMailer(ErrorMailSettings? settings, ILogger<ErrorMailer> logger, TimeProvider? time = null) : BackgroundService
{
    /// <summary>Mails waiting for the SMTP server; more than this are dropped (a mail storm helps nobody).</summary>
    private const int QueueLength = 16;

    private static readonly TimeSpan SmtpTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Queued as plain text: MimeKit and MailKit are loaded with the first mail, not by a server that sends none.
    private readonly Channel<ErrorMail> _queue = Channel.CreateBounded<ErrorMail>(
        new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Dictionary<string, (DateTimeOffset Sent, int HeldBack)> _lastMail = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _failing;

    /// <summary>Queues the mail about <paramref name="error"/>, unless mail is off or the same error was mailed recently.</summary>
    public void Report(Exception error, HttpContext context)
    {
        if (settings is null) return;
        var site = Site(error);
        var now = _time.GetUtcNow();
        int heldBack;
        lock (_gate)
        {
            var key = error.GetType().FullName + " at " + site;
            if (_lastMail.TryGetValue(key, out var last) && now - last.Sent < settings.MinInterval)
            {
                _lastMail[key] = last with { HeldBack = last.HeldBack + 1 };
                return;
            }
            heldBack = last.HeldBack;
            _lastMail[key] = (now, 0);
        }
        _queue.Writer.TryWrite(Compose(error, site, context, now, heldBack));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings is null) return;
        try
        {
            await foreach (var message in _queue.Reader.ReadAllAsync(stoppingToken))
                await SendAsync(settings, message, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is still queued is in the log already.
        }
    }

    private async Task SendAsync(ErrorMailSettings mail, ErrorMail queued, CancellationToken ct)
    {
        try
        {
            var message = queued.ToMime(mail);
            using var client = new SmtpClient { Timeout = (int)SmtpTimeout.TotalMilliseconds };
            var security = !mail.Secure ? SecureSocketOptions.None : mail.Port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls;
            await client.ConnectAsync(mail.Host, mail.Port, security, ct);
            if (mail.Login is not null) await client.AuthenticateAsync(mail.Login, mail.Password ?? "", ct);
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(quit: true, ct);
            if (_failing) logger.LogInformation("Error mail to {Host}:{Port} works again", mail.Host, mail.Port);
            _failing = false;
        }
        // Whatever the SMTP server, the network or TLS do, the mail is only a report: log it (once), never throw.
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            if (!_failing) logger.LogWarning("Could not send error mail \"{Subject}\" via {Host}:{Port}: {Reason}; further failures are not logged until one succeeds",
                queued.Subject, mail.Host, mail.Port, e.Message);
            _failing = true;
        }
    }

    private static ErrorMail Compose(Exception error, string site, HttpContext context, DateTimeOffset now, int heldBack)
    {
        var request = context.Request;
        var requestLine = $"{request.Method} {request.PathBase}{request.Path}{request.QueryString} {request.Protocol}";
        var body = new System.Text.StringBuilder()
            .Append("Request: ").Append(requestLine).Append('\n')
            .Append("Client: ").Append(context.Connection.RemoteIpAddress?.ToString() ?? "unknown").Append('\n')
            .Append("Request id: ").Append(context.TraceIdentifier).Append('\n')
            .Append("Server: ").Append(Environment.MachineName).Append('\n')
            .Append("Time: ").Append(now.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
            .Append("Thrown at: ").Append(site).Append('\n');
        if (heldBack > 0) body.Append("Not mailed since the last mail about this error: ").Append(heldBack).Append(" more like it\n");
        body.Append('\n').Append(error).Append('\n');

        return new ErrorMail($"[registry] {error.GetType().FullName} on {requestLine}", now, body.ToString());
    }

    private sealed record ErrorMail(string Subject, DateTimeOffset Date, string Body)
    {
        public MimeMessage ToMime(ErrorMailSettings mail)
        {
            var message = new MimeMessage { Subject = Subject, Date = Date };
            message.From.Add(MailboxAddress.Parse(mail.From));
            foreach (var to in mail.To) message.To.Add(MailboxAddress.Parse(to));
            message.Body = new TextPart("plain") { Text = Body };
            return message;
        }
    }

    /// <summary>
    /// Where the error came from, for telling one bug from another: the innermost method of this project on the stack
    /// (a framework method such as Directory.CreateDirectory is called from many places), else the throwing method.
    /// </summary>
    internal static string Site(Exception error)
    {
        var ours = new StackTrace(error, fNeedFileInfo: false).GetFrames()
            .Select(f => f.GetMethod())
            .FirstOrDefault(m => m?.DeclaringType?.FullName?.StartsWith("Registry.", StringComparison.Ordinal) == true);
        var method = ours ?? error.TargetSite;
        return method is null ? "unknown" : $"{method.DeclaringType?.FullName}.{method.Name}";
    }
}

/// <summary>Registers the one <see cref="ErrorMailer"/>: the error middleware's and the background sender.</summary>
public static class ErrorMailServices
{
    public static IServiceCollection AddErrorMail(this IServiceCollection services, ErrorMailSettings? settings)
    {
        services.AddSingleton(sp => new ErrorMailer(settings, sp.GetRequiredService<ILogger<ErrorMailer>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ErrorMailer>());
        return services;
    }
}
