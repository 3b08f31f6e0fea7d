using Amazon;
using Amazon.Runtime;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core;
using Registry.Core.Configuration;
using Registry.Core.Storage;
using Registry.Tests.Support;

namespace Registry.Tests.Storage;

/// <summary>The sample's S3 flavors (s3, prod, ceph-s3, gcs) become S3 driver options; other backends stop start-up.</summary>
public sealed class S3StorageOptionsTests : ConfigTestBase
{
    private S3StorageOptions Options(string flavor, params (string Name, string? Value)[] variables) =>
        LoadSample([("SETTINGS_FLAVOR", flavor), .. variables]).S3!;

    [Test]
    public void The_s3_flavor_reads_the_AWS_variables()
    {
        var options = Options("s3", ("AWS_BUCKET", "images"), ("AWS_REGION", "eu-west-1"), ("AWS_KEY", "AKIAEXAMPLE"), ("AWS_SECRET", "s3cr3t"));

        options.Should().BeEquivalentTo(new S3StorageOptions
        {
            Bucket = "images",
            Region = "eu-west-1",
            AccessKey = "AKIAEXAMPLE",
            SecretKey = "s3cr3t",
            Secure = true,
            Encrypt = true,
            Host = null,
            Port = null,
            Prefix = "registry",
            BatchDelete = true,
        });
        options.ServiceUrl.Should().BeNull();
        var config = S3StorageDriver.CreateClientConfig(options);
        config.RegionEndpoint.Should().Be(RegionEndpoint.EUWest1);
        config.UseHttp.Should().BeFalse();
        config.ForcePathStyle.Should().BeFalse();
    }

    [Test]
    public void A_custom_host_is_a_path_style_endpoint_with_checksums_only_when_required()
    {
        var options = Options("s3", ("AWS_BUCKET", "images"), ("AWS_HOST", "s3.internal"), ("AWS_PORT", "9000"), ("AWS_SECURE", "false"),
            ("AWS_ENCRYPT", "false"), ("STORAGE_PATH", "/a/b/"));

        options.ServiceUrl.Should().Be(new Uri("http://s3.internal:9000/"));
        options.Prefix.Should().Be("a/b");
        options.Encrypt.Should().BeFalse();
        var config = S3StorageDriver.CreateClientConfig(options);
        config.ServiceURL.Should().Be("http://s3.internal:9000/");
        config.ForcePathStyle.Should().BeTrue();
        config.AuthenticationRegion.Should().Be("us-east-1");
        config.RequestChecksumCalculation.Should().Be(RequestChecksumCalculation.WHEN_REQUIRED);
        config.ResponseChecksumValidation.Should().Be(ResponseChecksumValidation.WHEN_REQUIRED);
    }

    [Test]
    public void Prod_is_s3_under_the_prod_prefix()
    {
        var options = Options("prod", ("AWS_BUCKET", "images"));

        options.Prefix.Should().Be("prod");
        options.Bucket.Should().Be("images");
        options.Encrypt.Should().BeTrue();
    }

    [Test]
    public void Ceph_s3_defaults_to_plain_http_without_encryption()
    {
        var options = Options("ceph-s3", ("AWS_BUCKET", "images"), ("AWS_HOST", "rgw.local"), ("AWS_PORT", "7480"));

        options.Secure.Should().BeFalse();
        options.Encrypt.Should().BeFalse();
        options.Region.Should().BeNull();
        options.ServiceUrl.Should().Be(new Uri("http://rgw.local:7480/"));
    }

    [Test]
    public void Gcs_uses_the_interoperability_endpoint_and_the_gs_keys()
    {
        var options = Options("gcs", ("GCS_BUCKET", "images"), ("GCS_KEY", "GOOGEXAMPLE"), ("GCS_SECRET", "gs3cr3t"));

        options.Should().BeEquivalentTo(new S3StorageOptions
        {
            Bucket = "images",
            Region = "auto",
            AccessKey = "GOOGEXAMPLE",
            SecretKey = "gs3cr3t",
            Secure = true,
            Encrypt = false,
            Host = "storage.googleapis.com",
            Port = null,
            Prefix = "registry",
            BatchDelete = false,
        });
        options.ServiceUrl.Should().Be(new Uri("https://storage.googleapis.com/"));
    }

    [Test]
    public void Gcs_with_oauth2_is_refused()
    {
        var act = () => Options("gcs", ("GCS_BUCKET", "images"), ("GCS_OAUTH2", "true"));

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"gcs\", key \"oauth2\": OAuth 2.0 access to Google Cloud Storage is not supported " +
            "by this server; use HMAC interoperability keys (gs_access_key, gs_secret_key) with oauth2 false");
    }

    [TestCase("s3")]
    [TestCase("prod")]
    [TestCase("ceph-s3")]
    public void An_s3_flavor_without_a_bucket_names_the_key_and_the_variable(string flavor)
    {
        var act = () => CoreServices.CreateStorage(LoadSample(("SETTINGS_FLAVOR", flavor)));

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"{flavor}\", key \"s3_bucket\": no bucket configured: set s3_bucket or boto_bucket " +
            "(environment variable AWS_BUCKET in the sample config)");
    }

    [Test]
    public void A_port_that_is_no_port_is_refused()
    {
        var act = () => Options("s3", ("AWS_BUCKET", "images"), ("AWS_HOST", "h"), ("AWS_PORT", "99999"));

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"s3\", key \"boto_port\": expected a port number (1-65535), got the integer 99999");
    }

    [TestCase("s3", "registry")]
    [TestCase("prod", "prod")]
    [TestCase("ceph-s3", "registry")]
    [TestCase("cloudfronts3", "registry")]
    [TestCase("gcs", "registry")]
    public void The_s3_flavors_create_the_s3_driver(string flavor, string prefix)
    {
        var settings = LoadSample(("SETTINGS_FLAVOR", flavor), ("AWS_BUCKET", "images"), ("GCS_BUCKET", "images"));

        using var driver = CoreServices.CreateStorage(settings) as S3StorageDriver;

        driver.Should().NotBeNull();
        driver!.Kind.Should().Be("s3");
        driver.Options.Bucket.Should().Be("images");
        driver.Options.Prefix.Should().Be(prefix);
    }

    [TestCase("swift", "swift")]
    [TestCase("glance", "glance")]
    [TestCase("openstack-swift", "glance")]
    [TestCase("azureblob", "azureblob")]
    [TestCase("elliptics", "elliptics")]
    [TestCase("oss", "oss")]
    public void Backends_this_server_lacks_stop_start_up_naming_the_supported_ones(string flavor, string backend)
    {
        var act = () => CoreServices.CreateStorage(LoadSample(("SETTINGS_FLAVOR", flavor)));

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"{flavor}\", key \"storage\": the storage backend \"{backend}\" is not supported " +
            "by this server; supported: local (file), inmemory, s3 (AWS and S3-compatible stores such as Ceph RGW: flavors s3, prod, " +
            "ceph-s3), gcs (S3 interoperability)");
    }
}
