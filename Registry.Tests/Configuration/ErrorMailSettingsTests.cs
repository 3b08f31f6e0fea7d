using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The <c>email_exceptions:</c> section as the sample config and its variables set it.</summary>
public class ErrorMailSettingsTests : ConfigTestBase
{
    [Test]
    public void Off_unless_smtp_host_is_set()
    {
        LoadSample().ErrorMail.Should().BeNull();
        LoadSample(("SMTP_HOST", "")).ErrorMail.Should().BeNull();
    }

    [Test]
    public void The_sample_defaults_with_a_host()
    {
        LoadSample(("SMTP_HOST", "mail.example.com")).ErrorMail.Should().BeEquivalentTo(new ErrorMailSettings
        {
            Host = "mail.example.com",
            Port = 25,
            Login = null,
            Password = null,
            Secure = false,
            From = "docker-registry@localdomain.local",
            To = ["noise+dockerregistry@localdomain.local"],
            MinInterval = TimeSpan.FromSeconds(600),
        });
    }

    [Test]
    public void Every_variable_is_read()
    {
        var mail = LoadSample(("SMTP_HOST", "mail.example.com"), ("SMTP_PORT", "465"), ("SMTP_LOGIN", "registry"), ("SMTP_PASSWORD", "12345"),
            ("SMTP_SECURE", "true"), ("SMTP_FROM_ADDR", "reg@example.com"), ("SMTP_TO_ADDR", "a@example.com, b@example.com"),
            ("SMTP_MIN_INTERVAL_SECONDS", "0")).ErrorMail!;

        mail.Should().BeEquivalentTo(new ErrorMailSettings
        {
            Host = "mail.example.com",
            Port = 465,
            Login = "registry",
            Password = "12345",
            Secure = true,
            From = "reg@example.com",
            To = ["a@example.com", "b@example.com"],
            MinInterval = TimeSpan.Zero,
        });
    }

    [TestCase("SMTP_PORT", "0", "email_exceptions.smtp_port", "expected an integer from 1 to 65535, got the integer 0")]
    [TestCase("SMTP_SECURE", "maybe", "email_exceptions.smtp_secure", "expected a boolean (true/false), got the string \"maybe\"")]
    [TestCase("SMTP_MIN_INTERVAL_SECONDS", "-1", "email_exceptions.min_interval_seconds", "expected an integer from 0 to ")]
    [TestCase("SMTP_TO_ADDR", "''", "email_exceptions.to_addr", "expected one or more addresses to mail errors to (smtp_host is set)")]
    [TestCase("SMTP_TO_ADDR", "ops@example.com, nobody", "email_exceptions.to_addr", "\"nobody\" is not an e-mail address (user@host)")]
    [TestCase("SMTP_FROM_ADDR", "Registry <reg@example.com>", "email_exceptions.from_addr", "\"Registry <reg@example.com>\" is not an e-mail address (user@host)")]
    public void A_bad_value_stops_start_up_naming_the_key(string variable, string value, string key, string problem)
    {
        var act = () => LoadSample(("SMTP_HOST", "mail.example.com"), (variable, value));

        act.Should().Throw<ConfigException>().Which.Message.Should().StartWith(
            SampleError(key, variable, value, problem));
    }
}
