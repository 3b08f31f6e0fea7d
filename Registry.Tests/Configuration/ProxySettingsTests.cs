using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The <c>proxy:</c> section (docs/configuration.md, 'Mirror'): distribution's keys, the list form, durations and start-up errors.</summary>
public class ProxySettingsTests : ConfigTestBase
{
    private string Fails(string yaml, params (string Name, string? Value)[] variables)
    {
        var act = () => LoadWhole(yaml, variables);
        return act.Should().Throw<ConfigException>().Which.Message;
    }

    [Test]
    public void The_sample_config_has_the_proxy_off_and_reads_distributions_variables()
    {
        LoadSample().Proxy.Enabled.Should().BeFalse();
        LoadSample().Proxy.Describe().Should().Be("off");

        var settings = LoadSample(("REGISTRY_PROXY_REMOTEURL", "https://registry-1.docker.io"), ("REGISTRY_PROXY_USERNAME", "bob"),
            ("REGISTRY_PROXY_PASSWORD", "s3cret"), ("REGISTRY_PROXY_TTL", "30m"));
        var upstream = settings.Proxy.Upstreams.Should().ContainSingle().Subject;
        upstream.Should().Be(new ProxyUpstream("", new Uri("https://registry-1.docker.io"), "bob", "s3cret", TimeSpan.FromMinutes(30)));
        upstream.IsDockerHub.Should().BeTrue();
        settings.Proxy.Describe().Should().Be("* -> https://registry-1.docker.io (ttl 30m, credentials)");
        LoadSample(("REGISTRY_PROXY_REMOTEURL", "http://127.0.0.1:5001")).Proxy.Upstreams[0].Ttl.Should().Be(TimeSpan.FromHours(168));
    }

    [TestCase("168h", 168 * 3600)]
    [TestCase("1h30m", 5400)]
    [TestCase("10s", 10)]
    [TestCase("1.5s", 1.5)]
    [TestCase("500ms", 0.5)]
    [TestCase("0", 0)]
    [TestCase("45", 45)]
    public void Ttl_takes_go_durations_and_plain_seconds(string ttl, double seconds)
    {
        var settings = LoadWhole($"proxy: {{remoteurl: 'http://up:5000', ttl: '{ttl}'}}");
        settings.Proxy.Upstreams[0].Ttl.Should().Be(TimeSpan.FromSeconds(seconds));
    }

    [Test]
    public void The_list_form_mirrors_prefixes_longest_first_and_strips_them()
    {
        var settings = LoadWhole("""
            proxy:
              remoteurl: https://registry-1.docker.io
              upstreams:
                - {prefix: quay, remoteurl: 'https://quay.io', ttl: 10s}
                - {prefix: quay/team, remoteurl: 'http://127.0.0.1:5001/', username: u, password: p}
            """);
        settings.Proxy.Upstreams.Select(u => u.Prefix).Should().Equal("quay/team", "quay", "");
        settings.Proxy.Resolve("quay/team/app")!.Value.Name.Should().Be("app");
        settings.Proxy.Resolve("quay/team/app")!.Value.Upstream.Url.Should().Be("http://127.0.0.1:5001");
        settings.Proxy.Resolve("quay/coreos/etcd")!.Value.Name.Should().Be("coreos/etcd");
        settings.Proxy.Resolve("quay")!.Value.Name.Should().Be("library/quay");
        settings.Proxy.Resolve("hello")!.Value.Name.Should().Be("library/hello");
        settings.Proxy.Resolve("library/hello")!.Value.Name.Should().Be("library/hello");
        settings.Proxy.Resolve("bob/tool")!.Value.Name.Should().Be("bob/tool");
    }

    [Test]
    public void Only_docker_hub_gets_the_library_prefix_and_unlisted_names_are_local()
    {
        var settings = LoadWhole("proxy: {upstreams: [{prefix: hub, remoteurl: 'https://index.docker.io'}, {prefix: mine, remoteurl: 'http://127.0.0.1:5001'}]}");
        settings.Proxy.Resolve("hub/alpine")!.Value.Name.Should().Be("library/alpine");
        settings.Proxy.Resolve("mine/alpine")!.Value.Name.Should().Be("alpine");
        settings.Proxy.Resolve("other/alpine").Should().BeNull();
        settings.Proxy.Resolve("hub").Should().BeNull();
    }

    [Test]
    public void Retention_is_off_by_default_read_from_its_variable_and_the_default_of_the_list_entries()
    {
        LoadSample(("REGISTRY_PROXY_REMOTEURL", "http://127.0.0.1:5001")).Proxy.Upstreams[0].Retention.Should().BeNull();
        var single = LoadSample(("REGISTRY_PROXY_REMOTEURL", "http://127.0.0.1:5001"), ("REGISTRY_PROXY_RETENTION", "720h"));
        single.Proxy.Upstreams[0].Retention.Should().Be(TimeSpan.FromHours(720));
        single.Proxy.Describe().Should().Be("* -> http://127.0.0.1:5001 (ttl 168h, retention 720h)");

        var list = LoadWhole("""
            proxy:
              retention: 48h
              upstreams:
                - {prefix: quay, remoteurl: 'https://quay.io', retention: 2h}
                - {prefix: ghcr, remoteurl: 'https://ghcr.io'}
            """);
        list.Proxy.Resolve("quay/x")!.Value.Upstream.Retention.Should().Be(TimeSpan.FromHours(2));
        list.Proxy.Resolve("ghcr/x")!.Value.Upstream.Retention.Should().Be(TimeSpan.FromHours(48));
        LoadWhole("proxy: {upstreams: [{prefix: a, remoteurl: 'http://x'}]}").Proxy.Upstreams[0].Retention.Should().BeNull();

        Fails("proxy: {remoteurl: 'http://x', retention: 0}").Should().Contain("key \"proxy.retention\"").And.Contain("longer than 0");
        Fails("proxy: {remoteurl: 'http://x', retention: 'a week'}").Should().Contain("key \"proxy.retention\"").And.Contain("expected a duration");
        Fails("proxy: {upstreams: [{prefix: a, remoteurl: 'http://x', retention: 'later'}]}").Should().Contain("key \"proxy.upstreams\"");
    }

    [Test]
    public void Bad_values_stop_start_up_with_one_line_naming_the_key()
    {
        Fails("proxy: {remoteurl: 'ftp://x'}").Should().Contain("key \"proxy.remoteurl\"").And.Contain("must be an http:// or https:// URL");
        Fails("proxy: {remoteurl: 'https://bob:hunter2@up.example'}").Should().Contain("key \"proxy.remoteurl\"").And.NotContain("hunter2");
        Fails("proxy: {remoteurl: 'http://x', ttl: 'soon'}").Should().Contain("key \"proxy.ttl\"").And.Contain("expected a duration");
        Fails("proxy: {remoteurl: 'http://x', ttl: -5}").Should().Contain("key \"proxy.ttl\"");
        Fails("proxy: {remoteurl: 'http://x', username: bob}").Should().Contain("key \"proxy.username\"").And.Contain("set together");
        Fails("proxy: {upstreams: [{prefix: 'Hub', remoteurl: 'http://x'}]}").Should().Contain("key \"proxy.upstreams\"").And.Contain("proxy.upstreams[0].prefix");
        Fails("proxy: {upstreams: [{prefix: hub}]}").Should().Contain("proxy.upstreams[0].remoteurl is required");
        Fails("proxy: {upstreams: [{prefix: a, remoteurl: 'http://x'}, {prefix: a, remoteurl: 'http://y'}]}").Should().Contain("mirrored twice");
        var line = Fails("proxy: {remoteurl: _env:REGISTRY_PROXY_TTL}", ("REGISTRY_PROXY_TTL", "nope"));
        line.Split('\n').Should().ContainSingle();
        line.Should().Contain("$REGISTRY_PROXY_TTL");
    }
}
