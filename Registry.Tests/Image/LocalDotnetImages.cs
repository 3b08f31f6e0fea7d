using System.Diagnostics;
using Registry.Tests.Support;

namespace Registry.Tests.Image;

/// <summary>
/// Stand-ins for the .NET SDK and ASP.NET Core runtime images, built offline because no base image can be pulled here:
/// a Debian 12 minbase root file system from the apt mirror (<c>debootstrap</c>) with the packages Microsoft's
/// Debian runtime-deps image installs (ca-certificates, libicu72, libssl3, tzdata), plus this machine's .NET install at
/// <c>/usr/share/dotnet</c> (the whole SDK for the build image; the muxer, host and shared runtimes for the runtime
/// image) and <c>/usr/bin/dotnet</c>, as in Microsoft's images. Each is one <c>docker import</c>.
/// </summary>
internal static class LocalDotnetImages
{
    public const string Sdk = "local/dotnet-sdk:10.0";
    public const string Runtime = "local/dotnet-aspnet:10.0";

    private static readonly TimeSpan DebootstrapTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan ImportTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Builds both images into <paramref name="docker"/>; returns how long each step took, for the log.</summary>
    public static async Task<string> BuildAsync(DockerDaemon docker)
    {
        var debootstrap = ChildProcess.FindOnPath("debootstrap", "/usr/sbin", "/sbin");
        if (debootstrap is null)
            ChildProcess.MissingDependency("debootstrap is not installed: scripts/provision-test-deps.sh installs it");
        var dotnetRoot = Path.GetDirectoryName(new FileInfo(RegistryProcess.DotnetHost).ResolveLinkTarget(returnFinalTarget: true)?.FullName
            ?? Path.GetFullPath(RegistryProcess.DotnetHost))!;
        var work = Directory.CreateTempSubdirectory("dotnet-images-").FullName;
        var timings = new List<string>();
        var clock = Stopwatch.StartNew();
        try
        {
            var rootfs = Path.Combine(work, "rootfs");
            await RunAsync(DebootstrapTimeout, debootstrap, "--variant=minbase", "--include=ca-certificates,libicu72,libssl3,tzdata",
                "bookworm", rootfs, AptMirror());
            // The package cache is not part of an image.
            foreach (var deb in Directory.EnumerateFiles(Path.Combine(rootfs, "var/cache/apt/archives"), "*.deb")) File.Delete(deb);
            Directory.Delete(Path.Combine(rootfs, "var/lib/apt/lists"), recursive: true);
            timings.Add($"debootstrap {clock.Elapsed.TotalSeconds:0.0} s");

            // Hard links: nothing is copied, and tar reads them as files.
            clock.Restart();
            var sdk = await TreeAsync(work, rootfs, "sdk", [.. Directory.EnumerateFileSystemEntries(dotnetRoot)]);
            // NuGet restore inside the build reaches nuget.org the way this machine does: through its TLS-inspecting
            // egress, whose CA only the host's bundle holds, and without online revocation checks (as the host's SDK runs).
            var bundle = Path.Combine(sdk, "etc/ssl/certs/ca-certificates.crt");
            File.Delete(bundle);
            File.Copy("/etc/ssl/certs/ca-certificates.crt", bundle);
            var revocation = Environment.GetEnvironmentVariable("NUGET_CERT_REVOCATION_MODE") is { Length: > 0 } mode ? mode : "online";
            await ImportAsync(docker, sdk, Sdk, $"ENV NUGET_CERT_REVOCATION_MODE={revocation}");
            await ImportAsync(docker, await TreeAsync(work, rootfs, "runtime",
                [Path.Combine(dotnetRoot, "dotnet"), Path.Combine(dotnetRoot, "host"), Path.Combine(dotnetRoot, "shared")]), Runtime, "ENV DOTNET_RUNNING_IN_CONTAINER=true");
            timings.Add($"two imports {clock.Elapsed.TotalSeconds:0.0} s");
            return string.Join(", ", timings);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<string> TreeAsync(string work, string rootfs, string name, IReadOnlyList<string> dotnetEntries)
    {
        var tree = Path.Combine(work, name);
        await RunAsync(ImportTimeout, "cp", "-al", rootfs, tree);
        var target = Path.Combine(tree, "usr/share/dotnet");
        Directory.CreateDirectory(target);
        await RunAsync(ImportTimeout, "cp", ["-al", .. dotnetEntries, target]);
        File.CreateSymbolicLink(Path.Combine(tree, "usr/bin/dotnet"), "/usr/share/dotnet/dotnet");
        return tree;
    }

    private static Task ImportAsync(DockerDaemon docker, string tree, string tag, string change) =>
        RunAsync(ImportTimeout, "/bin/sh", "-c", "tar -C \"$1\" -c . | docker -H \"$2\" import -c \"$4\" - \"$3\"", "sh", tree, docker.Host, tag, change);

    /// <summary>The Debian mirror apt uses on this machine (deb822 sources first, then sources.list).</summary>
    private static string AptMirror()
    {
        const string deb822 = "/etc/apt/sources.list.d/debian.sources";
        if (File.Exists(deb822) && File.ReadLines(deb822).FirstOrDefault(l => l.StartsWith("URIs:", StringComparison.Ordinal)) is { } uris)
            return uris["URIs:".Length..].Trim().Split(' ')[0];
        const string list = "/etc/apt/sources.list";
        if (File.Exists(list) && File.ReadLines(list).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .FirstOrDefault(w => w.Length >= 3 && w[0] == "deb" && w[1].StartsWith("http", StringComparison.Ordinal)) is { } words)
            return words[1];
        return "http://deb.debian.org/debian";
    }

    private static async Task RunAsync(TimeSpan timeout, string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        await ChildProcess.RunToEndAsync(info, timeout);
    }
}
