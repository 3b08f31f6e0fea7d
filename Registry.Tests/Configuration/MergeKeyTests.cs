using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>YAML 1.1 merge keys as PyYAML applies them: own keys win, then earlier merged mappings.</summary>
public class MergeKeyTests : ConfigTestBase
{
    private const string Yaml = """
        a: &a
            x: a
            y: a
            mirroring:
                source: https://a
                tags_cache_ttl: 10
        b: &b
            x: b
            z: b
        both:
            <<: [*a, *b]
            y: own
        reversed:
            <<: [*b, *a]
        override:
            <<: *a
            mirroring:
                source: https://override
        chained: &chained
            <<: *b
            w: chained
        grandchild:
            <<: *chained
            z: grandchild
        quoted:
            '<<': not a merge
        """;

    [Test]
    public void Single_merge_copies_every_key()
    {
        var settings = LoadFlavor(Yaml, "chained");

        settings.Values.Keys.Should().BeEquivalentTo("x", "z", "w");
        settings.Values["x"].Should().Be("b");
        settings.Values["w"].Should().Be("chained");
    }

    [Test]
    public void Own_keys_win_over_merged_ones_and_earlier_list_entries_over_later_ones()
    {
        var settings = LoadFlavor(Yaml, "both");

        settings.Values["x"].Should().Be("a");
        settings.Values["y"].Should().Be("own");
        settings.Values["z"].Should().Be("b");
        settings.MirrorSource.Should().Be("https://a");
    }

    [Test]
    public void List_order_decides_which_merged_mapping_wins()
    {
        var settings = LoadFlavor(Yaml, "reversed");

        settings.Values["x"].Should().Be("b");
    }

    [Test]
    public void Merging_is_shallow_a_redefined_map_replaces_the_inherited_one()
    {
        var settings = LoadFlavor(Yaml, "override");

        Map(settings.Values["mirroring"]).Keys.Should().Equal("source");
        settings.MirrorSource.Should().Be("https://override");
        settings.MirrorTagsCacheTtlSeconds.Should().Be(RegistrySettings.DefaultMirrorTagsCacheTtlSeconds);
    }

    [Test]
    public void Merges_chain_through_several_levels()
    {
        var settings = LoadFlavor(Yaml, "grandchild");

        settings.Values["x"].Should().Be("b");
        settings.Values["w"].Should().Be("chained");
        settings.Values["z"].Should().Be("grandchild");
    }

    [Test]
    public void Quoted_merge_key_is_an_ordinary_key()
    {
        var settings = LoadFlavor(Yaml, "quoted");

        settings.Values["<<"].Should().Be("not a merge");
    }

    [Test]
    public void Merged_env_values_resolve_in_the_inheriting_flavor()
    {
        var settings = LoadFlavor("common: &common\n  loglevel: _env:LOGLEVEL:info\nprod:\n  <<: *common\n", "prod", ("LOGLEVEL", "ERROR"));

        settings.LogLevel.Should().Be("error");
    }

    [Test]
    public void Merge_of_a_scalar_is_a_config_error_naming_the_key()
    {
        var file = Path.Combine(TempDir, "config.yml");

        var act = () => LoadFlavor("dev:\n  <<: 5\n", "dev");

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {file}, flavor \"dev\", key \"<<\": a merge key (<<) takes a mapping (*alias) or a list of mappings ([*a, *b]) (line 2, column 7)");
    }

    [Test]
    public void Merge_of_a_list_holding_a_scalar_is_a_config_error()
    {
        var act = () => LoadFlavor("a: &a {x: 1}\ndev:\n  <<: [*a, 5]\n", "dev");

        act.Should().Throw<ConfigException>().Which.Message.Should().Contain("key \"<<\": a merge key (<<) takes a mapping or a list of mappings");
    }
}
