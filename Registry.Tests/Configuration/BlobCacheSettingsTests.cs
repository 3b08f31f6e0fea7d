using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary><c>blob_cache_path</c> and <c>blob_cache_size_mb</c> as the sample file reads them.</summary>
public class BlobCacheSettingsTests : ConfigTestBase
{
    [Test]
    public void Off_by_default()
    {
        var cache = LoadSample(("SETTINGS_FLAVOR", "s3")).BlobCache;

        cache.Should().Be(new BlobCacheSettings { Path = null, MaxBytes = 10_240L << 20, Warning = null });
    }

    [Test]
    public void Path_and_size_from_the_environment_on_s3()
    {
        var cache = LoadSample(("SETTINGS_FLAVOR", "s3"), ("BLOB_CACHE_PATH", "/var/cache/registry"), ("BLOB_CACHE_SIZE_MB", "512")).BlobCache;

        cache.Should().Be(new BlobCacheSettings { Path = "/var/cache/registry", MaxBytes = 512L << 20, Warning = null });
    }

    [Test]
    public void Local_storage_warns_that_the_cache_is_not_used()
    {
        var cache = LoadSample(("BLOB_CACHE_PATH", "/var/cache/registry")).BlobCache;

        cache.Path.Should().BeNull();
        cache.Warning.Should().Be(
            $"config warning in {SampleFile}, flavor \"dev\", key \"blob_cache_path\" (from $BLOB_CACHE_PATH=\"/var/cache/registry\"): " +
            "not used with local storage: blobs are already local files, sent from where they are stored");
    }

    [Test]
    public void A_size_below_one_mebibyte_is_refused()
    {
        var load = () => LoadSample(("SETTINGS_FLAVOR", "s3"), ("BLOB_CACHE_SIZE_MB", "0"));

        load.Should().Throw<ConfigException>().Which.Message.Should().EndWith(
            "key \"blob_cache_size_mb\" (from $BLOB_CACHE_SIZE_MB=\"0\"): expected an integer from 1 to 8796093022207, got the integer 0");
    }
}
