using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The <c>cors:</c> section of config_sample.yml read into <see cref="CorsSettings"/> (docs/configuration.md, 'CORS').</summary>
[TestFixture]
public sealed class CorsSettingsTests : ConfigTestBase
{
    [Test]
    public void The_sample_leaves_cors_off_until_origins_is_set()
    {
        var settings = LoadSample();

        settings.Cors.Enabled.Should().BeFalse();
        settings.Cors.Describe().Should().Be("cors off");
        settings.Unimplemented.Should().BeEmpty();
    }

    [Test]
    public void The_sample_reads_every_key_from_its_variable()
    {
        var cors = LoadSample(
            ("CORS_ORIGINS", "[http://ui.example.test, '^https://.*\\.example\\.test$']"),
            ("CORS_METHODS", "[head, GET, OPTIONS, DELETE]"),
            ("CORS_HEADERS", "Authorization, Accept"),
            ("CORS_EXPOSE_HEADERS", "[Docker-Content-Digest]"),
            ("CORS_SUPPORTS_CREDENTIALS", "true"),
            ("CORS_MAX_AGE", "1728000"),
            ("CORS_SEND_WILDCARD", "true"),
            ("CORS_ALWAYS_SEND", "false"),
            ("CORS_AUTOMATIC_OPTIONS", "false"),
            ("CORS_VARY_HEADER", "false"),
            ("CORS_RESOURCES", "['/v2/.*', '/v1/search']")).Cors;

        cors.Origins.Select(o => (o.Text, o.Regex is not null)).Should().Equal(("http://ui.example.test", false), ("^https://.*\\.example\\.test$", true));
        cors.Methods.Should().Equal("HEAD", "GET", "OPTIONS", "DELETE");
        cors.Headers!.Select(h => h.Text).Should().Equal("Authorization", "Accept");
        cors.ExposeHeaders.Should().Equal("Docker-Content-Digest");
        (cors.SupportsCredentials, cors.MaxAgeSeconds, cors.SendWildcard, cors.AlwaysSend, cors.AutomaticOptions, cors.VaryHeader)
            .Should().Be((true, 1728000L, true, false, false, false));
        cors.AppliesTo("/v2/library/app/tags/list").Should().BeTrue();
        cors.AppliesTo("/v1/search").Should().BeTrue();
        cors.AppliesTo("/v1/_ping").Should().BeFalse();
        cors.Describe().Should().Be("cors for http://ui.example.test, ^https://.*\\.example\\.test$ (with credentials)");
    }

    [Test]
    public void Origins_match_as_flask_cors_matches_them()
    {
        var origins = LoadSample(("CORS_ORIGINS", "[http://UI.example.test, 'https://.*\\.example\\.test']")).Cors.Origins;

        origins[0].Matches("http://ui.example.test").Should().BeTrue("a literal compares case-insensitively");
        origins[0].Matches("http://ui.example.test.evil.test").Should().BeFalse("a literal is not a prefix");
        origins[1].Matches("https://a.example.test").Should().BeTrue();
        origins[1].Matches("http://a.example.test").Should().BeFalse();
        origins[1].Matches("xhttps://a.example.test").Should().BeFalse("a pattern is anchored at the start");
    }

    [Test]
    public void A_star_in_headers_or_no_headers_allows_any_request_header()
    {
        LoadSample(("CORS_ORIGINS", "'*'"), ("CORS_HEADERS", "'*'")).Cors.Headers.Should().BeNull();
        LoadWhole("cors:\n  origins: '*'\n").Cors.Headers.Should().BeNull();
        LoadWhole("cors:\n  origins: '*'\n").Cors.Methods.Should().Equal(CorsSettings.DefaultMethods);
    }

    [TestCase("CORS_MAX_AGE", "-1", "cors.max_age", "expected a number of seconds (0 or more), got the integer -1")]
    [TestCase("CORS_SUPPORTS_CREDENTIALS", "yes please", "cors.supports_credentials", "expected a boolean (true/false), got the string \"yes please\"")]
    [TestCase("CORS_RESOURCES", "'/v2/(unclosed'", "cors.resources", "\"/v2/(unclosed\" is not a valid regular expression: ")]
    public void A_bad_value_stops_start_up_naming_the_key(string variable, string value, string key, string problem)
    {
        var act = () => LoadSample(("CORS_ORIGINS", "'*'"), (variable, value));

        act.Should().Throw<ConfigException>().Which.Message.Should().StartWith(
            SampleError(key, variable, value, problem));
    }
}
