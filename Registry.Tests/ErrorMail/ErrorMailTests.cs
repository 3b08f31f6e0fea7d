using System.Diagnostics;
using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.ErrorMail;

/// <summary>
/// <c>email_exceptions:</c> end to end: the real registry process, a real SMTP server (aiosmtpd), and a real fault on
/// disk (a file where a repository's directory must be) that makes a request a 500.
/// </summary>
[Category("e2e")]
public class ErrorMailTests
{
    [Test]
    public async Task An_unhandled_error_sends_one_mail_and_the_same_error_within_the_interval_sends_none()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["SMTP_HOST"] = "127.0.0.1",
            ["SMTP_PORT"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SMTP_FROM_ADDR"] = "registry@example.test",
            ["SMTP_TO_ADDR"] = "ops@example.test, oncall@example.test",
            ["SMTP_MIN_INTERVAL_SECONDS"] = "3600",
        });
        Directory.CreateDirectory(Path.Combine(registry.StoragePath, "repositories/lib"));
        await File.WriteAllTextAsync(Path.Combine(registry.StoragePath, "repositories/lib/broken"), "not a directory");

        var clock = Stopwatch.StartNew();
        var first = await PutIndexAsync(registry);
        var answered = clock.Elapsed;

        first.Should().Be((500, "{\"error\": \"Internal server error\"}"));
        var mails = await smtp.WaitForAsync(1, TimeSpan.FromSeconds(20));
        mails.Should().ContainSingle();
        var mail = mails[0];
        Header(mail, "Subject").Should().Be("[registry] System.IO.IOException on PUT /v1/repositories/lib/broken/ HTTP/1.1");
        Header(mail, "From").Should().Be("registry@example.test");
        Header(mail, "To").Should().Be("ops@example.test, oncall@example.test");
        Header(mail, "X-MailFrom").Should().Be("registry@example.test");
        Header(mail, "X-RcptTo").Should().Be("ops@example.test, oncall@example.test");
        var body = Body(mail);
        body.Should().StartWith("Request: PUT /v1/repositories/lib/broken/ HTTP/1.1\nClient: 127.0.0.1\nRequest id: ");
        body.Should().MatchRegex(@"\nRequest id: \S+\n");
        body.Should().Contain("\nThrown at: Registry.Core.Storage.FileSystemStorageDriver");
        body.Should().Contain("\n\nSystem.IO.IOException: ")
            .And.Contain("   at Registry.Index.Repositories.IndexImagesService.PutImagesAsync(");
        body.Should().NotContain("Not mailed since");
        // The response did not wait for SMTP (an SMTP exchange and a 500 of ours each take milliseconds here, so this
        // only catches a response held for the mail's whole 30 s timeout or a failed one).
        answered.Should().BeLessThan(TimeSpan.FromSeconds(10));

        // The same fault again within the interval: answered the same, no second mail.
        (await PutIndexAsync(registry)).Should().Be(first);
        (await smtp.WaitForAsync(2, TimeSpan.FromSeconds(3))).Should().HaveCount(1);
        registry.Output.Should().NotContain("Could not send error mail");
    }

    [Test]
    public async Task An_smtp_server_that_is_down_costs_one_warning_and_never_the_response()
    {
        var closedPort = FreePort.Next();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["SMTP_HOST"] = "127.0.0.1",
            ["SMTP_PORT"] = closedPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SMTP_MIN_INTERVAL_SECONDS"] = "0",
        });
        Directory.CreateDirectory(Path.Combine(registry.StoragePath, "repositories/lib"));
        await File.WriteAllTextAsync(Path.Combine(registry.StoragePath, "repositories/lib/broken"), "not a directory");

        for (var i = 0; i < 3; i++)
            (await PutIndexAsync(registry)).Should().Be((500, "{\"error\": \"Internal server error\"}"));

        var clock = Stopwatch.StartNew();
        while (!registry.Output.Contains("Could not send error mail", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(20))
            await Task.Delay(50);
        // Let the other two attempts fail too before counting.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Regex.Matches(registry.Output, "Could not send error mail").Should().ContainSingle(registry.Output);
        registry.Output.Should().Contain($"via 127.0.0.1:{closedPort}: ");
    }

    private static async Task<(int Status, string Body)> PutIndexAsync(RegistryProcess registry)
    {
        using var response = await registry.Client.PutAsync("/v1/repositories/lib/broken/", new StringContent("[]"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A header's value, unfolded (RFC 5322, 'Long Header Fields': a line break before white space is folding).</summary>
    private static string Header(string mail, string name)
    {
        var headers = mail.Replace("\r\n", "\n", StringComparison.Ordinal);
        headers = Regex.Replace(headers[..headers.IndexOf("\n\n", StringComparison.Ordinal)], @"\n(?=[ \t])", "");
        return Regex.Match(headers, $"^{Regex.Escape(name)}: (.*)$", RegexOptions.Multiline).Groups[1].Value;
    }

    private static string Body(string mail)
    {
        var text = mail.Replace("\r\n", "\n", StringComparison.Ordinal);
        return text[(text.IndexOf("\n\n", StringComparison.Ordinal) + 2)..];
    }
}
