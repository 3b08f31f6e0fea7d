using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Notifications;

/// <summary>The <c>notifications:</c> section read into <see cref="NotificationSettings"/> (docs/configuration.md, 'Notifications').</summary>
[TestFixture]
public sealed class NotificationSettingsTests : ConfigTestBase
{
    [Test]
    public void The_sample_has_no_endpoints_until_the_variable_names_some()
    {
        var settings = LoadSample();

        settings.Notifications.Endpoints.Should().BeEmpty();
        settings.Notifications.Enabled.Should().BeFalse();
        settings.Notifications.OutboxPath.Should().BeNull();
    }

    [Test]
    public void The_sample_reads_the_endpoint_list_from_its_variable_as_yaml()
    {
        var storage = Path.Combine(TempDir, "data");
        var n = LoadSample(("STORAGE_PATH", storage), ("REGISTRY_NOTIFICATIONS_ENDPOINTS",
            "[{name: ci, url: 'http://ci.example.test/hook', headers: {Authorization: [Bearer x], X-Two: [a, b]}, timeout: 500ms, " +
            "threshold: 3, backoff: 1m30s, ignoredmediatypes: [application/octet-stream], ignore: {mediatypes: [text/plain], actions: [pull, mount]}}, " +
            "{name: other, url: 'https://other.example.test/', disabled: true}]")).Notifications;

        n.Enabled.Should().BeTrue();
        n.OutboxPath.Should().Be(Path.Combine(storage, "_notifications"));
        n.Endpoints.Should().HaveCount(2);
        var ci = n.Endpoints[0];
        (ci.Name, ci.Url.ToString(), ci.Timeout, ci.Threshold, ci.Backoff, ci.Disabled)
            .Should().Be(("ci", "http://ci.example.test/hook", TimeSpan.FromMilliseconds(500), 3, TimeSpan.FromSeconds(90), false));
        ci.Headers.Should().Equal(new KeyValuePair<string, string>("Authorization", "Bearer x"),
            new KeyValuePair<string, string>("X-Two", "a"), new KeyValuePair<string, string>("X-Two", "b"));
        ci.IgnoredMediaTypes.Should().Equal("application/octet-stream", "text/plain");
        ci.IgnoredActions.Should().Equal("pull", "mount");
        ci.Wants("push", "application/vnd.oci.image.manifest.v1+json").Should().BeTrue();
        ci.Wants("pull", "application/vnd.oci.image.manifest.v1+json").Should().BeFalse();
        ci.Wants("push", "application/octet-stream").Should().BeFalse();
        ci.Wants("delete", null).Should().BeTrue();
        var other = n.Endpoints[1];
        (other.Disabled, other.Timeout, other.Threshold, other.Backoff).Should().Be((true, TimeSpan.FromSeconds(1), 10, TimeSpan.FromSeconds(1)));
        n.Describe().Should().Be($"ci (http://ci.example.test/hook), other (https://other.example.test/, disabled); outbox {Path.Combine(storage, "_notifications")}");
    }

    [Test]
    public void The_config_verb_masks_credentials_in_endpoint_headers()
    {
        var settings = LoadSample(("REGISTRY_NOTIFICATIONS_ENDPOINTS",
            "[{name: ci, url: 'http://user:pw@ci.example.test/hook', headers: {Authorization: [Bearer x], X-Api-Key: [k1], X-Trace: [enabled]}}]"));

        var printed = ConfigPrinter.Render(settings);

        printed.Should().Contain("headers: {Authorization: ***, X-Api-Key: ***, X-Trace: [enabled]}");
        printed.Should().Contain("url: http://user:***@ci.example.test/hook");
        printed.Should().NotContain("Bearer x").And.NotContain("k1").And.NotContain(":pw@");
    }

    [Test]
    public void An_error_in_the_variable_does_not_repeat_its_text()
    {
        var act = () => LoadSample(("REGISTRY_NOTIFICATIONS_ENDPOINTS", "[{name: ci, url: 'http://ci.test/', headers: {Authorization: [Bearer x]}, timeout: soon}]"));

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"notifications.endpoints[0].timeout\" (from $REGISTRY_NOTIFICATIONS_ENDPOINTS=\"***\"): " +
            "expected a duration such as 500ms, 1s or 1m30s (units ns, us, ms, s, m, h), got the string \"soon\"");
    }

    [TestCase("timeout: 5 seconds", "notifications.endpoints[0].timeout", "expected a duration such as 500ms, 1s or 1m30s (units ns, us, ms, s, m, h), got the string \"5 seconds\"")]
    [TestCase("backoff: 10", "notifications.endpoints[0].backoff", "expected a duration such as 500ms, 1s or 1m30s (units ns, us, ms, s, m, h), got the integer 10")]
    [TestCase("threshold: many", "notifications.endpoints[0].threshold", "expected a whole number of failures, got the string \"many\"")]
    [TestCase("ignore: {actions: [pull, fetch]}", "notifications.endpoints[0].ignore.actions", "unknown action \"fetch\"; allowed: push, pull, mount, delete")]
    [TestCase("headers: [a]", "notifications.endpoints[0].headers", "expected a map of header names to lists of values, got a list")]
    [TestCase("name: off", "notifications.endpoints[0].name", "expected a string, got the boolean false (quote the value to keep it a string)")]
    [TestCase("disabled: maybe", "notifications.endpoints[0].disabled", "expected a boolean, got the string \"maybe\"")]
    public void A_bad_value_is_one_line_naming_the_key(string extra, string key, string problem)
    {
        var file = WriteFile($$"""
            dev:
                storage_path: {{TempDir}}
                notifications:
                    endpoints:
                        - {url: 'http://ci.example.test/', {{(extra.StartsWith("name:") ? extra : "name: ci, " + extra)}}}
            """);

        var act = () => ConfigLoader.Load(Env(("SETTINGS_FLAVOR", "dev")), file, TempDir);

        act.Should().Throw<ConfigException>().Which.Message.Should().Be($"config error in {file}, flavor \"dev\", key \"{key}\": {problem}");
    }

    [Test]
    public void An_endpoint_needs_an_http_url_and_a_unique_name()
    {
        var badUrl = WriteFile("dev:\n    notifications:\n        endpoints: [{name: ci, url: 'ftp://user:secret@ci.example.test/'}]\n", "bad-url.yml");
        var twice = WriteFile("dev:\n    notifications:\n        endpoints: [{name: ci, url: 'http://a.test/'}, {name: ci, url: 'http://b.test/'}]\n", "twice.yml");

        var url = () => ConfigLoader.Load(Env(("SETTINGS_FLAVOR", "dev")), badUrl, TempDir);
        var name = () => ConfigLoader.Load(Env(("SETTINGS_FLAVOR", "dev")), twice, TempDir);

        url.Should().Throw<ConfigException>().Which.Message.Should()
            .Be($"config error in {badUrl}, flavor \"dev\", key \"notifications.endpoints[0].url\": endpoint \"ci\": expected an absolute http or https URL");
        name.Should().Throw<ConfigException>().Which.Message.Should()
            .Be($"config error in {twice}, flavor \"dev\", key \"notifications.endpoints\": the endpoint name \"ci\" is used twice; names must be unique (each has its own queue)");
    }

    [Test]
    public void Storage_that_is_not_local_needs_an_outbox_directory()
    {
        var file = WriteFile("s3:\n    storage: s3\n    s3_bucket: b\n    notifications:\n        endpoints: [{name: ci, url: 'http://ci.test/'}]\n");

        var act = () => ConfigLoader.Load(Env(("SETTINGS_FLAVOR", "s3")), file, TempDir);

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {file}, flavor \"s3\", key \"notifications.outbox\": notifications need a local directory for their queues when storage is s3; set notifications.outbox");
    }

    [TestCase("500ms", 5_000_000L)]
    [TestCase("1s", 10_000_000L)]
    [TestCase("1m30s", 900_000_000L)]
    [TestCase("1.5h", 54_000_000_000L)]
    [TestCase("250us", 2_500L)]
    [TestCase("0", 0L)]
    public void Go_durations_parse(string text, long ticks) =>
        NotificationSettings.ParseGoDuration(text).Should().Be(TimeSpan.FromTicks(ticks));

    [TestCase("")]
    [TestCase("1")]
    [TestCase("-1s")]
    [TestCase("1d")]
    [TestCase("s")]
    public void Other_text_is_not_a_go_duration(string text) => NotificationSettings.ParseGoDuration(text).Should().BeNull();
}
