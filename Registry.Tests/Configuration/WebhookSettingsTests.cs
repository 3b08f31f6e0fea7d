using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The <c>webhooks:</c> section of config_sample.yml read into <see cref="WebhookSettings"/> (docs/configuration.md, 'Webhooks').</summary>
[TestFixture]
public sealed class WebhookSettingsTests : ConfigTestBase
{
    [Test]
    public void The_sample_allows_no_internal_network()
    {
        LoadSample().Webhooks.AllowedNetworks.Should().BeEmpty();
    }

    [Test]
    public void The_variable_lists_cidrs_separated_by_commas()
    {
        LoadSample(("WEBHOOKS_ALLOWED_NETWORKS", "127.0.0.0/8, fd00:1::/64")).Webhooks.AllowedNetworks
            .Should().Equal(IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("fd00:1::/64"));
    }

    [Test]
    public void A_bad_cidr_names_the_key()
    {
        var act = () => LoadSample(("WEBHOOKS_ALLOWED_NETWORKS", "10.0.0.0/8,10.0.0.0/33"));

        act.Should().Throw<ConfigException>().Which.Message.Should().Contain("webhooks.allowed_networks")
            .And.Contain("\"10.0.0.0/33\" is not a CIDR");
    }
}
