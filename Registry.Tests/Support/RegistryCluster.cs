namespace Registry.Tests.Support;

/// <summary>
/// Several real registry processes (<see cref="RegistryProcess"/>) on their own 127.0.0.1 ports sharing what a
/// multi-host deployment shares: one S3 bucket and prefix on Ceph RGW (s3 flavor), one PostgreSQL index
/// database and, optionally, one Redis logical database for the small-file cache (<c>cache_lru</c>), as instances
/// behind a load balancer would. Each cluster takes a fresh bucket, prefix and databases, so clusters of
/// different tests never see each other's data.
/// </summary>
public sealed class RegistryCluster : IAsyncDisposable
{
    private readonly List<RegistryProcess> _instances = [];
    private readonly Dictionary<string, string?> _environment;

    private RegistryCluster(CephRgw rgw, PostgresServer postgres, string bucket, string prefix, string database, Dictionary<string, string?> environment)
    {
        Rgw = rgw;
        Postgres = postgres;
        Bucket = bucket;
        Prefix = prefix;
        Database = database;
        _environment = environment;
    }

    public CephRgw Rgw { get; }

    public PostgresServer Postgres { get; }

    public string Bucket { get; }

    /// <summary>The key prefix of the registry's storage in <see cref="Bucket"/> (STORAGE_PATH without its leading '/').</summary>
    public string Prefix { get; }

    /// <summary>The name of the cluster's index database on <see cref="Postgres"/>.</summary>
    public string Database { get; }

    public IReadOnlyList<RegistryProcess> Instances => _instances;

    public RegistryProcess this[int index] => _instances[index];

    /// <summary>The environment every instance starts with (flavor, S3, index database, plus the caller's extras).</summary>
    public IReadOnlyDictionary<string, string?> Environment => _environment;

    /// <summary>
    /// Starts <paramref name="count"/> instances on the run's shared Ceph RGW and on <paramref name="postgres"/> (default:
    /// the run's shared PostgreSQL), with a fresh database of the run's shared Redis when <paramref name="redis"/>.
    /// <paramref name="environment"/> adds or overrides variables of every instance.
    /// </summary>
    public static async Task<RegistryCluster> StartAsync(
        int count, PostgresServer? postgres = null, bool redis = false, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var rgw = await CephRgw.SharedAsync();
        postgres ??= await PostgresServer.SharedAsync();
        var bucket = await rgw.CreateBucketAsync("cluster");
        var prefix = "cluster-" + Guid.NewGuid().ToString("N")[..8];
        var database = await postgres.CreateDatabaseAsync("cluster");
        var env = rgw.FlavorEnvironment(bucket, "/" + prefix);
        env["SETTINGS_FLAVOR"] = "s3";
        env["SQLALCHEMY_INDEX_DATABASE"] = postgres.Url(database);
        if (redis)
        {
            var server = await RedisServer.SharedAsync();
            env["CACHE_LRU_REDIS_HOST"] = "127.0.0.1";
            env["CACHE_LRU_REDIS_PORT"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["CACHE_LRU_REDIS_DB"] = (await server.NewDatabaseAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) env[name] = value;

        var cluster = new RegistryCluster(rgw, postgres, bucket, prefix, database, env);
        try
        {
            // One at a time: the first creates the schema, and two first starts would race on it.
            for (var i = 0; i < count; i++) await cluster.AddInstanceAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more instance on the same storage and database.</summary>
    public async Task<RegistryProcess> AddInstanceAsync()
    {
        var instance = await RegistryProcess.StartAsync(_environment);
        _instances.Add(instance);
        return instance;
    }

    /// <summary>Every key of the registry's storage (prefix cut off), as the bucket holds it now.</summary>
    public Task<List<string>> StorageKeysAsync() => Rgw.KeysAsync(Bucket, Prefix + "/");

    public async ValueTask DisposeAsync()
    {
        // In parallel: each stop may wait out a graceful shutdown.
        await Task.WhenAll(_instances.Select(i => i.DisposeAsync().AsTask()));
        _instances.Clear();
    }
}
