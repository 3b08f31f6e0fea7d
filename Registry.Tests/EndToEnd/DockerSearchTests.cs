using System.Globalization;
using System.Net;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary><c>docker search</c> from a real docker daemon against the real registry process (Docker Hub API, 'Search').</summary>
[TestFixture]
[Category("docker")]
public sealed class DockerSearchTests
{
    private const string BusyboxDescription = "The Busybox base image";
    private const string ExtrasDescription = "Extra applets for busybox, built for the end-to-end tests of docker search";
    private const string OtherDescription = "Shell tools that merely mention busybox";

    // Issue #3: is_official is true for the library namespace.
    private const string LibraryBusyboxOfficial = "[OK]";

    private static readonly IReadOnlyList<string> BulkNames =
        Enumerable.Range(0, 30).Select(i => $"bulk/searchme-{i:D2}").ToList();

    private DockerDaemon? _docker;
    private RegistryProcess? _registry;
    private int _cliMajorVersion;

    private string Host => _registry!.HostAndPort;

    // docker CLI 25 dropped the AUTOMATED column; the docker.io 20.10 CLI still prints it.
    private IReadOnlyList<string> ExpectedColumns =>
        _cliMajorVersion >= 25
            ? ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
            : ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"];

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _docker = await DockerDaemon.StartAsync();
        await TestContext.Progress.WriteLineAsync($"dockerd started in {_docker.StartupTime.TotalMilliseconds:F0} ms");
        var version = await _docker.RunCliAsync("version", "--format", "{{.Client.Version}}");
        version.ExitCode.Should().Be(0, version.ToString());
        _cliMajorVersion = int.Parse(version.Stdout.Split('.')[0], CultureInfo.InvariantCulture);

        _registry = await RegistryProcess.StartAsync();
        await CreateRepositoryAsync("library/busybox", BusyboxDescription);
        await CreateRepositoryAsync("team/busybox-extras", ExtrasDescription);
        await CreateRepositoryAsync("team/other", OtherDescription);
        foreach (var name in BulkNames)
        {
            await CreateRepositoryAsync(name, description: null);
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        if (_docker is not null)
        {
            await _docker.DisposeAsync();
            await TestContext.Progress.WriteLineAsync($"dockerd stopped in {_docker.StopTime?.TotalMilliseconds:F0} ms");
        }
    }

    [Test]
    public async Task Search_prints_name_description_stars_and_flags_in_relevance_order()
    {
        var result = await SearchAsync($"{Host}/busy");

        var table = SearchTable.Parse(result.Stdout);
        table.Columns.Should().Equal(ExpectedColumns);
        table.Column("NAME").Should().Equal("library/busybox", "team/busybox-extras", "team/other");
        table.Column("DESCRIPTION").Should().Equal(BusyboxDescription, ExtrasDescription[..44] + "…", OtherDescription);
        table.Column("STARS").Should().Equal("0", "0", "0");
        table.Column("OFFICIAL").Should().Equal(LibraryBusyboxOfficial, "", "");
        if (_cliMajorVersion < 25)
        {
            table.Column("AUTOMATED").Should().Equal("", "", "");
        }
    }

    [Test]
    public async Task Limit_is_honoured_by_the_server()
    {
        var result = await SearchAsync("--limit", "5", $"{Host}/searchme");

        var table = SearchTable.Parse(result.Stdout);
        table.Columns.Should().Equal(ExpectedColumns);
        table.Column("NAME").Should().Equal(BulkNames.Take(5));
    }

    [Test]
    public async Task Format_prints_one_name_per_line()
    {
        var result = await SearchAsync("--format", "{{.Name}}", $"{Host}/busy");

        result.Stdout.Should().Be("library/busybox\nteam/busybox-extras\nteam/other\n");
    }

    [Test]
    public async Task Default_page_size_is_25_and_limit_100_returns_all_30()
    {
        var firstPage = await SearchAsync("--format", "{{.Name}}", $"{Host}/searchme");
        var all = await SearchAsync("--format", "{{.Name}}", "--limit", "100", $"{Host}/searchme");

        if (KeepsServerOrder)
        {
            Lines(firstPage.Stdout).Should().Equal(BulkNames.Take(25));
            Lines(all.Stdout).Should().Equal(BulkNames);
        }
        else
        {
            Lines(firstPage.Stdout).Should().BeEquivalentTo(BulkNames.Take(25));
            Lines(all.Stdout).Should().BeEquivalentTo(BulkNames);
        }
    }

    [Test]
    public async Task No_trunc_prints_the_whole_description()
    {
        var result = await SearchAsync("--no-trunc", $"{Host}/busybox-extras");

        var table = SearchTable.Parse(result.Stdout);
        table.Column("NAME").Should().Equal("team/busybox-extras");
        table.Column("DESCRIPTION").Should().Equal(ExtrasDescription);
    }

    [Test]
    public async Task A_term_matching_nothing_prints_only_the_header()
    {
        var result = await SearchAsync($"{Host}/no-such-thing");

        Lines(result.Stdout).Should().HaveCount(1);
        var table = SearchTable.Parse(result.Stdout);
        table.Columns.Should().Equal(ExpectedColumns);
        table.Rows.Should().BeEmpty();
    }

    // CLIs before 25 sort the results by stars with an unstable sort, so equal-star rows may move.
    private bool KeepsServerOrder => _cliMajorVersion >= 25;

    private static IReadOnlyList<string> Lines(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private async Task<CliResult> SearchAsync(params string[] args)
    {
        var result = await _docker!.RunCliAsync(["search", .. args], DockerDaemon.DefaultCliTimeout, CancellationToken.None);
        result.ExitCode.Should().Be(0, $"docker search {string.Join(' ', args)} should succeed; {result}");
        result.Stderr.Should().BeEmpty();
        return result;
    }

    // What a docker 1.x push does first (Docker Hub API, 'Repositories'), then a description through the properties
    // endpoint. "access" is sent too: Docker Registry HTTP API V1, 'Repositories' lets a server reject a properties object without it.
    private async Task CreateRepositoryAsync(string name, string? description)
    {
        using var create = new HttpRequestMessage(HttpMethod.Put, $"v1/repositories/{name}/")
        {
            Content = new StringContent("[]", Encoding.UTF8, "application/json"),
        };
        create.Headers.Add("X-Docker-Token", "true");
        using var created = await _registry!.Client.SendAsync(create);
        created.StatusCode.Should().Be(HttpStatusCode.OK, $"PUT /v1/repositories/{name}/ answered '{await created.Content.ReadAsStringAsync()}'");

        if (description is null)
        {
            return;
        }

        var properties = $$"""{"access": "public", "description": "{{description}}"}""";
        using var put = await _registry.Client.PutAsync(
            $"v1/repositories/{name}/properties", new StringContent(properties, Encoding.UTF8, "application/json"));
        put.StatusCode.Should().Be(HttpStatusCode.OK, $"PUT /v1/repositories/{name}/properties answered '{await put.Content.ReadAsStringAsync()}'");
    }
}
