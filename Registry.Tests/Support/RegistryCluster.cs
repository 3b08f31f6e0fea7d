namespace Registry.Tests.Support;

/// <summary>Where the instances of a <see cref="RegistryCluster"/> keep their storage, all of them the same.</summary>
public enum ClusterStorage
{
    /// <summary>One bucket and prefix on the run's shared Ceph RGW (s3 flavor), as hosts of a deployment share S3.</summary>
    CephRgw,

    /// <summary>One local folder (dev flavor), as hosts sharing a network file system: lets a test look at the files.</summary>
    Folder,
}

/// <summary>
/// Several real registry processes (<see cref="RegistryProcess"/>) on their own 127.0.0.1 ports sharing what a
/// multi-host deployment shares: one storage (<see cref="ClusterStorage"/>), one PostgreSQL index database and,
/// optionally, one Redis logical database for the small-file cache (<c>cache_lru</c>), as instances behind a load
/// balancer would. Each cluster takes a fresh bucket or folder and fresh databases, so clusters of different tests
/// never see each other's data.
/// </summary>
public sealed class RegistryCluster : IAsyncDisposable
{
    private readonly List<RegistryProcess> _instances = [];
    private readonly Dictionary<string, string?> _environment;
    private readonly TempDirectory? _folder;

    private RegistryCluster(
        PostgresServer postgres, string database, CephRgw? rgw, string? bucket, string? prefix, TempDirectory? folder, Dictionary<string, string?> environment)
    {
        Postgres = postgres;
        Database = database;
        Rgw = rgw;
        Bucket = bucket;
        Prefix = prefix;
        _folder = folder;
        _environment = environment;
    }

    public PostgresServer Postgres { get; }

    /// <summary>The name of the cluster's index database on <see cref="Postgres"/>.</summary>
    public string Database { get; }

    /// <summary>The gateway of <see cref="ClusterStorage.CephRgw"/> storage; null with a folder.</summary>
    public CephRgw? Rgw { get; }

    /// <summary>The bucket of <see cref="ClusterStorage.CephRgw"/> storage; null with a folder.</summary>
    public string? Bucket { get; }

    /// <summary>The key prefix of the registry's storage in <see cref="Bucket"/> (STORAGE_PATH without its leading '/'); null with a folder.</summary>
    public string? Prefix { get; }

    /// <summary>The STORAGE_PATH of <see cref="ClusterStorage.Folder"/> storage; null on Ceph RGW.</summary>
    public string? StorageFolder => _folder?.Path;

    public IReadOnlyList<RegistryProcess> Instances => _instances;

    public RegistryProcess this[int index] => _instances[index];

    /// <summary>The environment every instance starts with (flavor, storage, index database, plus the caller's extras).</summary>
    public IReadOnlyDictionary<string, string?> Environment => _environment;

    /// <summary>
    /// Starts <paramref name="count"/> instances on <paramref name="storage"/> (default: the run's shared Ceph RGW) and
    /// on <paramref name="postgres"/> (default: the run's shared PostgreSQL), with a fresh database of the run's shared
    /// Redis when <paramref name="redis"/>. <paramref name="environment"/> adds or overrides variables of every instance.
    /// </summary>
    public static async Task<RegistryCluster> StartAsync(
        int count,
        PostgresServer? postgres = null,
        bool redis = false,
        IReadOnlyDictionary<string, string?>? environment = null,
        ClusterStorage storage = ClusterStorage.CephRgw)
    {
        postgres ??= await PostgresServer.SharedAsync();
        var database = await postgres.CreateDatabaseAsync("cluster");
        CephRgw? rgw = null;
        string? bucket = null, prefix = null;
        TempDirectory? folder = null;
        Dictionary<string, string?> env;
        if (storage == ClusterStorage.CephRgw)
        {
            rgw = await CephRgw.SharedAsync();
            bucket = await rgw.CreateBucketAsync("cluster");
            prefix = "cluster-" + Guid.NewGuid().ToString("N")[..8];
            env = rgw.FlavorEnvironment(bucket, "/" + prefix);
            env["SETTINGS_FLAVOR"] = "s3";
        }
        else
        {
            // The dev flavor is RegistryProcess's default.
            folder = new TempDirectory();
            env = new Dictionary<string, string?> { ["STORAGE_PATH"] = folder.Path };
        }
        env["SQLALCHEMY_INDEX_DATABASE"] = postgres.Url(database);
        if (redis)
        {
            var server = await RedisServer.SharedAsync();
            env["CACHE_LRU_REDIS_HOST"] = "127.0.0.1";
            env["CACHE_LRU_REDIS_PORT"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["CACHE_LRU_REDIS_DB"] = (await server.NewDatabaseAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) env[name] = value;

        var cluster = new RegistryCluster(postgres, database, rgw, bucket, prefix, folder, env);
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

    /// <summary>Every key of the registry's storage ('/'-separated, relative to its root), as the bucket or folder holds it now.</summary>
    public Task<List<string>> StorageKeysAsync() =>
        _folder is null
            ? Rgw!.KeysAsync(Bucket!, Prefix + "/")
            : Task.FromResult(Directory.EnumerateFiles(_folder.Path, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(_folder.Path, f).Replace('\\', '/')).ToList());

    public async ValueTask DisposeAsync()
    {
        // In parallel: each stop may wait out a graceful shutdown.
        await Task.WhenAll(_instances.Select(i => i.DisposeAsync().AsTask()));
        _instances.Clear();
        _folder?.Dispose();
    }
}
