using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;
using Registry.V1.Hosting;

namespace Registry.Tests.Cluster;

/// <summary>
/// PostgreSQL stopped and started again while both instances of a cluster take a mix of reads, searches, index
/// writes and sign-ups: every answer is the expected one or a 503 in the V1 error shape with <c>Retry-After</c>,
/// never a 500; afterwards both instances recover by themselves, and what was acknowledged is there, on both.
/// </summary>
[TestFixture]
[Category("s3")]
[Category("e2e")]
[NonParallelizable]
public sealed class ClusterPostgresRestartTests
{
    private const int Workers = 4;
    private const int MaxIterationsPerWorker = 3000;
    private const string RootPassword = "root-pw";
    private static readonly TimeSpan LoadBeforeStop = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan Downtime = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PauseBetweenRequests = TimeSpan.FromMilliseconds(10);

    [Test]
    public async Task Cluster_postgresql_restarted_under_load_gives_503_never_500_and_both_instances_recover()
    {
        await using var postgres = await PostgresServer.StartDedicatedAsync();
        using var auth = new TempDirectory();
        await File.WriteAllTextAsync(auth.File("htpasswd"), HtpasswdFile.Line("root", RootPassword) + "\n");
        await using var cluster = await RegistryCluster.StartAsync(2, postgres, environment: new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = auth.File("htpasswd"),
            ["REGISTRY_AUTH_ADMINS"] = "root",
            ["REGISTRY_AUTH_SIGNUP"] = "true",
        });
        var admins = cluster.Instances.Select(i => ClusterTests.Client(i, "root", RootPassword)).ToArray();
        var seed = V1Client.NewImageId();
        var seedLayer = V1Client.RandomBytes(30_000);
        (await admins[0].PutIndexAsync("/v1/repositories/team/pg-seed/", $"[{{\"id\":\"{seed}\"}}]").ReadAsync()).Status.Should().Be(200);
        await admins[0].PushImageAsync(seed, seedLayer);
        (await admins[0].PutTagAsync("team/pg-seed", "latest", seed).ReadAsync()).Should().Be((200, "true"));

        var load = new Load(cluster, admins, seed, seedLayer);
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => load.RunAsync(w, stop.Token))).ToArray();
        await Task.Delay(LoadBeforeStop);
        await postgres.StopAsync();
        var down = Stopwatch.StartNew();
        await Task.Delay(Downtime);
        await postgres.RestartAsync();
        down.Stop();

        foreach (var instance in cluster.Instances)
        {
            var stopwatch = Stopwatch.StartNew();
            (int Status, string Body) answer;
            while (true)
            {
                answer = await instance.Client.GetAsync("/v1/search?q=pg-seed").ReadAsync();
                if (answer.Status != 503 || stopwatch.Elapsed > RecoveryTimeout) break;
                await Task.Delay(100);
            }
            answer.Should().Be((200, ClusterTests.SearchBody("pg-seed", "team/pg-seed")), $"{instance.BaseAddress} recovers by itself");
        }
        var recovered = load.Count;
        // Load after the recovery: every kind of request must now answer as it would with PostgreSQL never gone.
        load.StrictAfter(load.Count);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        load.Violations.Should().BeEmpty();
        load.Unavailable.Should().BePositive($"PostgreSQL was down for {down.Elapsed.TotalSeconds:F1} s under load");
        load.Count.Should().BeGreaterThan(recovered, "the load kept running after the recovery");
        TestContext.Out.WriteLine($"{load.Count} requests, {load.Unavailable} answered 503, {load.Acknowledged.Count} repositories and {load.Users.Count} users acknowledged");
        foreach (var instance in cluster.Instances)
            instance.Output.Should().NotContain("Unhandled error");

        // A client retries what was refused, as docker retries a push: now it is taken, whatever the 503 interrupted.
        foreach (var (repo, i) in load.Refused.Select((r, i) => (r, i)))
        {
            (await admins[i % admins.Length].PutIndexAsync($"/v1/repositories/{repo}/", "[]").ReadAsync()).Should().Be((200, "\"\""), repo);
        }

        // Nothing lost, nothing half-written: search on both lists exactly what storage holds, which includes every
        // acknowledged repository, and every acknowledged sign-up logs in on both instances.
        var inStorage = ClusterCrashTests.RepositoriesInStorage(await cluster.StorageKeysAsync());
        inStorage.Should().Contain(load.Acknowledged).And.Contain(load.Refused);
        foreach (var instance in cluster.Instances)
        {
            (await SearchAllAsync(instance.Client, "pg-")).Should().BeEquivalentTo(inStorage, $"search on {instance.BaseAddress} agrees with storage");
            foreach (var user in load.Users)
            {
                using var client = ClusterTests.Client(instance, user, user + "-pw");
                (await client.GetAsync("/v1/users/").ReadAsync()).Should().Be((200, "\"OK\""), user);
            }
        }
        foreach (var admin in admins) admin.Dispose();
    }

    private static async Task<SortedSet<string>> SearchAllAsync(HttpClient client, string term)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        for (var page = 1; page <= 100; page++)
        {
            var (status, body) = await client.GetAsync($"/v1/search?q={term}&n=100&page={page}").ReadAsync();
            status.Should().Be(200, body);
            using var json = JsonDocument.Parse(body);
            var results = json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToList();
            names.UnionWith(results);
            if (page >= json.RootElement.GetProperty("num_pages").GetInt32()) break;
        }
        return names;
    }

    /// <summary>The mixed requests, spread over both instances, and what each answered.</summary>
    private sealed class Load(RegistryCluster cluster, HttpClient[] admins, string seed, byte[] seedLayer)
    {
        private int _count;
        private int _unavailable;
        private int _strictFrom = int.MaxValue;

        public ConcurrentQueue<string> Violations { get; } = new();

        public ConcurrentBag<string> Acknowledged { get; } = [];

        /// <summary>Repositories whose PUT answered 503: a client retries those.</summary>
        public ConcurrentBag<string> Refused { get; } = [];

        public ConcurrentBag<string> Users { get; } = [];

        public int Count => Volatile.Read(ref _count);

        public int Unavailable => Volatile.Read(ref _unavailable);

        /// <summary>From request number <paramref name="count"/> on, a 503 is a violation too.</summary>
        public void StrictAfter(int count) => Volatile.Write(ref _strictFrom, count);

        public async Task RunAsync(int worker, CancellationToken ct)
        {
            for (var i = 0; i < MaxIterationsPerWorker && !ct.IsCancellationRequested; i++)
            {
                var n = Interlocked.Increment(ref _count);
                var instance = (worker + i) % cluster.Instances.Count;
                var name = $"w{worker}i{i}";
                try
                {
                    await OneAsync(n, i % 6, instance, name);
                }
                catch (HttpRequestException e)
                {
                    Violations.Enqueue($"#{n} kind {i % 6} on instance {instance}: {e.Message}");
                }
                await Task.Delay(PauseBetweenRequests, CancellationToken.None);
            }
        }

        private async Task OneAsync(int n, int kind, int instance, string name)
        {
            var anonymous = cluster[instance].Client;
            var admin = admins[instance];
            switch (kind)
            {
                case 0:
                    await CheckAsync(n, anonymous.GetAsync("/v1/search?q=pg-seed"), 200, ClusterTests.SearchBody("pg-seed", "team/pg-seed"));
                    break;
                case 1:
                    await CheckAsync(n, anonymous.GetAsync("/v1/repositories/team/pg-seed/tags"), 200, $"{{\"latest\": \"{seed}\"}}");
                    break;
                case 2:
                    // With auth on, reading an image asks the index which repositories hold it (private ones hide it):
                    // that needs PostgreSQL, so 503 is the answer while it is down.
                    await CheckAsync(n, anonymous.GetAsync($"/v1/images/{seed}/layer"), 200, null, bytes => bytes.AsSpan().SequenceEqual(seedLayer));
                    break;
                case 3:
                    await CheckAsync(n, anonymous.GetAsync($"/v1/images/{V1Client.NewImageId()}/json"), 404, "{\"error\": \"Image not found\"}");
                    break;
                case 4:
                    var repo = $"team/pg-{name}";
                    (await CheckAsync(n, admin.PutIndexAsync($"/v1/repositories/{repo}/", "[]"), 200, null) ? Acknowledged : Refused).Add(repo);
                    break;
                default:
                    var user = "u" + name.ToLowerInvariant();
                    var signup = new StringContent($"{{\"username\": \"{user}\", \"password\": \"{user}-pw\", \"email\": \"{user}@example.com\"}}");
                    if (await CheckAsync(n, anonymous.PostAsync("/v1/users/", signup), 201, "\"User Created\"")) Users.Add(user);
                    break;
            }
        }

        /// <summary>True when the expected answer came; a 503 in the V1 shape is counted; anything else is a violation.</summary>
        private async Task<bool> CheckAsync(int n, Task<HttpResponseMessage> pending, int status, string? body, Func<byte[], bool>? content = null)
        {
            using var response = await pending;
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var text = Encoding.UTF8.GetString(bytes);
            var code = (int)response.StatusCode;
            if (code == status && (body is null || text == body) && (content is null || content(bytes))) return true;
            if (code == 503 && n < Volatile.Read(ref _strictFrom)
                && text == $"{{\"error\": \"{ErrorHandlingMiddleware.IndexUnavailableMessage}\"}}"
                && response.Header("Retry-After") == "5")
            {
                Interlocked.Increment(ref _unavailable);
                return false;
            }
            Violations.Enqueue($"#{n} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} answered {code} " +
                               $"'{(bytes.Length > 200 ? $"{bytes.Length} bytes" : text)}', Retry-After '{response.Header("Retry-After")}'");
            return false;
        }
    }
}
