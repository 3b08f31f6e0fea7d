// Build, test, publish and benchmark the registry.  Usage: dotnet tool restore && dotnet cake --target=<Target>
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var benchArgs = Argument("bench-args", "");

Task("Clean").Does(() =>
{
    CleanDirectories("./**/bin/" + configuration);
    CleanDirectories("./**/obj");
    CleanDirectory("./artifacts");
});

Task("Build").Does(() =>
{
    DotNetBuild("./Registry.sln", new DotNetBuildSettings { Configuration = configuration });
});

// Installs what the tests need (a docker daemon from Debian's docker.io when root), then runs every test.
Task("Provision").Does(() =>
{
    if (!IsRunningOnUnix()) return;
    var exit = StartProcess("bash", new ProcessSettings { Arguments = "scripts/provision-test-deps.sh" });
    if (exit != 0) throw new Exception("scripts/provision-test-deps.sh failed with exit code " + exit);
});

Task("Test").IsDependentOn("Build").IsDependentOn("Provision").Does(() =>
{
    var results = MakeAbsolute(Directory("./artifacts/test-results"));
    CleanDirectory(results);
    DotNetTest("./Registry.sln", new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Loggers = { "trx;LogFileName=results.trx", "console;verbosity=minimal" },
        ResultsDirectory = results,
    });
    Summarise(results.CombineWithFilePath("results.trx"));
}).OnError(exception =>
{
    Summarise(MakeAbsolute(File("./artifacts/test-results/results.trx")));
    throw exception;
});

Task("Publish").IsDependentOn("Build").Does(() =>
{
    DotNetPublish("./Registry.V1/Registry.V1.csproj", new DotNetPublishSettings
    {
        Configuration = configuration,
        NoBuild = true,
        OutputDirectory = "./artifacts/publish",
    });
});

// Benchmarks print figures next to a baseline measured in the same run (machines are shared and noisy).
var benchDll = "Registry.Bench/bin/" + configuration + "/net10.0/Registry.Bench.dll";
var benchServer = MakeAbsolute(File("Registry.V1/bin/" + configuration + "/net10.0/Registry.V1.dll")).FullPath;

// The runs against Debian's Go registry (docker-registry, installed by provision-test-deps.sh) on the same disk.
var peerRuns = new[]
{
    "download --sizes-mib 64,512 --rounds 6 --server-dll " + benchServer + " --out artifacts/bench-download.json",
    "bursts --pushes 16,64 --size-mib 8 --rounds 2 --server-dll " + benchServer + " --out artifacts/bench-bursts.json",
};

Task("Bench").IsDependentOn("Build").Does(() =>
{
    RunBenchmarks(string.IsNullOrWhiteSpace(benchArgs)
        ? new[]
        {
            "layer --v2 --size-mib 512 --rss-size-mib 2048 --server-dll " + benchServer + " --out artifacts/bench-layer.json",
            "search-http --repos 10000 --connections 64 --seconds 20 --pg-instances 2 --server-dll " + benchServer + " --out artifacts/bench-search-http.json",
            "search-index --sizes 100000,1000000 --out artifacts/bench-search-index.json",
            "reindex --repositories 100000",
            "soak --seconds 180 --connections 64 --server-dll " + benchServer + " --out artifacts/bench-soak.json",
        }.Concat(peerRuns).ToArray()
        : new[] { benchArgs });
});

// Only the comparisons with the Go registry: downloads and upload bursts.
Task("BenchPeers").IsDependentOn("Build").Does(() => RunBenchmarks(peerRuns));

RunTarget(target);

// Prints the closing line CI reads ("N passed, N failed, N skipped") from the TRX file.
void Summarise(FilePath trx)
{
    if (!FileExists(trx)) return;
    var doc = System.Xml.Linq.XDocument.Load(trx.FullPath);
    var counters = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "Counters");
    if (counters == null) return;
    int Count(string name) => int.Parse(counters.Attribute(name)?.Value ?? "0");
    var skipped = Count("notExecuted");
    Console.WriteLine($"Tests: {Count("passed")} passed, {Count("failed") + Count("error") + Count("timeout") + Count("aborted")} failed, {skipped} skipped");
}

void RunBenchmarks(string[] runs)
{
    EnsureDirectoryExists("./artifacts");
    foreach (var run in runs)
    {
        Information("dotnet " + benchDll + " " + run);
        var exit = StartProcess("dotnet", new ProcessSettings { Arguments = benchDll + " " + run });
        if (exit != 0) throw new Exception("benchmark failed: " + run);
    }
}
