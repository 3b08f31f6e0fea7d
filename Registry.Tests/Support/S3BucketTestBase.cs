using Amazon.S3;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>
/// A fixture with a bucket of its own on the run's shared Ceph RGW (<see cref="CephRgw.SharedAsync"/>), and an S3
/// client to look into it (or change it) behind the registry's back.
/// </summary>
public abstract class S3BucketTestBase(string bucketPurpose)
{
    protected CephRgw Rgw { get; private set; } = null!;

    protected AmazonS3Client S3 { get; private set; } = null!;

    protected string Bucket { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartGatewayAsync()
    {
        Rgw = await CephRgw.SharedAsync();
        S3 = Rgw.CreateClient();
        Bucket = await Rgw.CreateBucketAsync(bucketPurpose);
    }

    [OneTimeTearDown]
    public void DisposeClient() => S3?.Dispose();
}
