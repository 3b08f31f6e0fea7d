using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>
/// Keys of the file format this server does not implement: a flavor that sets one gets a refusal (serving would
/// mislead) or a warning (the registry still does what the user expects); the shipped flavors set none.
/// </summary>
public class UnimplementedSettingTests : ConfigTestBase
{
    private static readonly string[] Flavors =
    [
        "common", "local", "s3", "cloudfronts3", "azureblob", "ceph-s3", "gcs", "swift", "glance", "openstack",
        "glance-swift", "openstack-swift", "elliptics", "oss", "dev", "prod", "test",
    ];

    [TestCaseSource(nameof(Flavors))]
    public void Shipped_flavors_set_none(string flavor) =>
        LoadSample(("SETTINGS_FLAVOR", flavor)).Unimplemented.Should().BeEmpty();

    [TestCase("PRIVILEGED_KEY", "/etc/registry/key.pub", "privileged_key",
        "signed (privileged) requests are not implemented by this server; unset it to start")]
    public void Keys_whose_absence_would_mislead_refuse_start_up(string variable, string value, string key, string problem)
    {
        var found = LoadSample((variable, value)).Unimplemented.Should().ContainSingle().Which;

        found.Key.Should().Be(key);
        found.Refuses.Should().BeTrue();
        found.Message.Should().Be(SampleError(key, variable, value, problem));
    }

    [Test]
    public void An_index_backed_registry_warns_that_it_never_asks_the_index_endpoint()
    {
        var found = LoadSample(("STANDALONE", "false")).Unimplemented.Should().ContainSingle().Which;

        found.Refuses.Should().BeFalse();
        found.Message.Should().Be(
            $"config warning in {SampleFile}, flavor \"dev\", key \"index_endpoint\" (from $INDEX_ENDPOINT, unset, default \"https://index.docker.io\"): " +
            "asking an index over HTTP is not implemented by this server; registry routes accept the tokens of an " +
            "index that shares this server's secret_key (same storage or SECRET_KEY)");
    }

    [TestCase("INDEX_ENDPOINT", "")]
    [TestCase("DISABLE_TOKEN_AUTH", "true")]
    public void An_index_backed_registry_without_an_index_to_ask_has_no_warning(string variable, string value) =>
        LoadSample(("STANDALONE", "false"), (variable, value)).Unimplemented.Should().BeEmpty();

    [TestCase("BUGSNAG", "api-key", "bugsnag", "Bugsnag error reporting is not implemented by this server; errors go to the log only")]
    public void Keys_the_registry_works_without_are_warnings(string variable, string value, string key, string problem)
    {
        var found = LoadSample((variable, value)).Unimplemented.Should().ContainSingle().Which;

        found.Key.Should().Be(key);
        found.Refuses.Should().BeFalse();
        found.Message.Should().Be($"config warning in {SampleFile}, flavor \"dev\", key \"{key}\" (from ${variable}=\"{value}\"): {problem}");
    }
}
