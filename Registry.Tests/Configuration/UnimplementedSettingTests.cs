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

    [TestCase("BUGSNAG", "api-key", "bugsnag", "Bugsnag error reporting is not implemented by this server; errors go to the log only")]
    public void Keys_the_registry_works_without_are_warnings(string variable, string value, string key, string problem)
    {
        var found = LoadSample((variable, value)).Unimplemented.Should().ContainSingle().Which;

        found.Key.Should().Be(key);
        found.Refuses.Should().BeFalse();
        found.Message.Should().Be($"config warning in {SampleFile}, flavor \"dev\", key \"{key}\" (from ${variable}=\"{value}\"): {problem}");
    }
}
