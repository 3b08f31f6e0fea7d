using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The <c>config</c> verb's text: resolved values, nested maps indented, secrets masked.</summary>
public class ConfigPrinterTests : ConfigTestBase
{
    [Test]
    public void Renders_header_sorted_keys_nested_maps_and_typed_scalars()
    {
        var settings = LoadWhole("""
            storage_path: /tmp/registry
            debug: true
            port: 5000
            ratio: 2.0
            flags: [a, "yes", 1, ~]
            text: "true"
            colon: 'a: b'
            empty: ''
            nothing:
            section:
                source: https://registry-1.docker.io
                inner: {b: 2, a: 1}
            none: {}
            """);

        ConfigPrinter.Render(settings).Should().Be(
            $"# file: {Path.Combine(TempDir, "config.yml")}\n"
            + "# flavor: \"\" (the whole document)\n"
            + "colon: \"a: b\"\n"
            + "debug: true\n"
            + "empty: \"\"\n"
            + "flags: [a, \"yes\", 1, null]\n"
            + "none: {}\n"
            + "nothing: null\n"
            + "port: 5000\n"
            + "ratio: 2.0\n"
            + "section:\n"
            + "    inner:\n"
            + "        a: 1\n"
            + "        b: 2\n"
            + "    source: https://registry-1.docker.io\n"
            + "storage_path: /tmp/registry\n"
            + "text: \"true\"\n");
    }

    [Test]
    public void Masks_secrets_from_the_sample_and_keeps_paths_and_switches()
    {
        // privileged_key must name a readable RSA public key.
        var keyFile = Path.Combine(TempDir, "index.pub");
        using (var rsa = System.Security.Cryptography.RSA.Create(2048)) File.WriteAllText(keyFile, rsa.ExportRSAPublicKeyPem());
        var settings = LoadSample(
            ("SETTINGS_FLAVOR", "prod"), ("AWS_KEY", "AKIAEXAMPLE"), ("AWS_SECRET", "s3cr3t"), ("CACHE_REDIS_PASSWORD", "hunter2"),
            ("PRIVILEGED_KEY", keyFile), ("DISABLE_TOKEN_AUTH", "true"), ("BUGSNAG", "bugsnag-api-key"));

        var text = ConfigPrinter.Render(settings);

        text.Should().StartWith($"# file: {SampleFile}\n# flavor: prod\n");
        text.Should().Contain("\ns3_access_key: ***\n");
        text.Should().Contain("\ns3_secret_key: ***\n");
        text.Should().Contain("\n    password: ***\n");
        text.Should().Contain("\nbugsnag: ***\n");
        text.Should().Contain($"\nprivileged_key: {keyFile}\n");
        text.Should().Contain("\ndisable_token_auth: true\n");
        text.Should().Contain("\nstorage_path: /prod\n");
        text.Should().Contain("\ns3_bucket: null\n");
        text.Should().NotContain("AKIAEXAMPLE").And.NotContain("s3cr3t").And.NotContain("hunter2").And.NotContain("bugsnag-api-key");
    }

    [Test]
    public void Masks_the_password_of_a_mirror_url()
    {
        var text = ConfigPrinter.Render(LoadSample(("MIRROR_SOURCE", "http://mirror:p%40ss@upstream.example:5000/"), ("MIRROR_SOURCE_INDEX", "https://index.example")));

        text.Should().Contain("\n    source: http://mirror:***@upstream.example:5000/\n");
        text.Should().Contain("\n    source_index: https://index.example\n");
        text.Should().NotContain("p%40ss");
    }

    [Test]
    public void Unset_secrets_print_as_null()
    {
        var text = ConfigPrinter.Render(LoadSample(("SETTINGS_FLAVOR", "prod")));

        text.Should().Contain("\ns3_secret_key: null\n");
    }

    [Test]
    public void Secret_maps_and_secrets_inside_flow_values_are_masked()
    {
        var settings = LoadWhole("api_token: {value: abc}\nlist: [{password: abc, user: bob}]");

        ConfigPrinter.Render(settings).Should().EndWith("api_token: ***\nlist: [{password: ***, user: bob}]\n");
    }

    [TestCase("password", true)]
    [TestCase("smtp_password", true)]
    [TestCase("swift_password", true)]
    [TestCase("s3_secret_key", true)]
    [TestCase("keysecret", true)]
    [TestCase("oss_accesskey", true)]
    [TestCase("gs_access_key", true)]
    [TestCase("azure_storage_account_key", true)]
    [TestCase("new_relic_license_key", true)]
    [TestCase("NEW_RELIC_LICENSE", true)]
    [TestCase("api_token", true)]
    [TestCase("bugsnag", true)]
    [TestCase("my_key", true)]
    [TestCase("privileged_key", false)]
    [TestCase("keyid", false)]
    [TestCase("oss_accessid", false)]
    [TestCase("storage_path", false)]
    [TestCase("smtp_secure", false)]
    [TestCase("key", false)]
    public void Secret_key_names(string key, bool secret)
    {
        ConfigPrinter.IsSecretKey(key).Should().Be(secret);
    }
}
