using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary><c>mirroring.username</c> / <c>mirroring.password</c> (docs/configuration.md, 'V1 mirroring'): read, and refused at start-up when inconsistent.</summary>
public class MirrorCredentialsTests : ConfigTestBase
{
    [Test]
    public void Both_keys_from_the_sample_give_the_credentials_and_hide_the_password()
    {
        var settings = LoadSample(("MIRROR_SOURCE", "http://upstream.example:5000"), ("MIRROR_USERNAME", "mirror"), ("MIRROR_PASSWORD", "s3cret"));

        settings.MirrorCredentials.Should().Be(new MirrorCredentials("mirror", "s3cret"));
        settings.MirrorCredentials!.ToString().Should().NotContain("s3cret");
    }

    [Test]
    public void Unset_keys_give_none()
    {
        LoadSample(("MIRROR_SOURCE", "http://upstream.example:5000")).MirrorCredentials.Should().BeNull();
    }

    [TestCase("mirror", "", "mirroring.username and mirroring.password must be set together")]
    [TestCase("", "s3cret", "mirroring.username and mirroring.password must be set together")]
    [TestCase("mir:ror", "s3cret", "a Basic user name cannot contain ':'")]
    public void Inconsistent_keys_stop_start_up_naming_the_key(string username, string password, string problem)
    {
        var load = () => LoadSample(("MIRROR_SOURCE", "http://upstream.example:5000"), ("MIRROR_USERNAME", username), ("MIRROR_PASSWORD", password));

        load.Should().Throw<ConfigException>().Which.Message.Should().Be(SampleError("mirroring.username", "MIRROR_USERNAME", "***", problem));
    }

    [Test]
    public void Credentials_without_a_source_or_next_to_a_url_with_credentials_stop_start_up()
    {
        var alone = () => LoadSample(("MIRROR_USERNAME", "mirror"), ("MIRROR_PASSWORD", "s3cret"));
        alone.Should().Throw<ConfigException>().Which.Message
            .Should().Be(SampleError("mirroring.username", "MIRROR_USERNAME", "***", "credentials need mirroring.source (the upstream they are for)"));

        var twice = () => LoadSample(("MIRROR_SOURCE", "http://upstream.example:5000"), ("MIRROR_SOURCE_INDEX", "http://other:pw@index.example"),
            ("MIRROR_USERNAME", "mirror"), ("MIRROR_PASSWORD", "s3cret"));
        twice.Should().Throw<ConfigException>().Which.Message
            .Should().Be(SampleError("mirroring.username", "MIRROR_USERNAME", "***", "mirroring.source_index carries user:password@ already; set the credentials in one place"));
    }
}
