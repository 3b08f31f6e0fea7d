using Microsoft.Playwright;

namespace Registry.Tests.Support;

/// <summary>
/// Debian's chromium driven by Playwright for .NET, one browser for the whole run (each test opens its own context,
/// so cookies and storage never leak between tests). Playwright's own browser download is never used: the browser
/// is the packaged <c>/usr/bin/chromium</c> (scripts/provision-test-deps.sh installs it).
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";
    private static readonly SharedServer<Chromium> Shared = new("chromium");
    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static Task<Chromium> SharedAsync() => Shared.GetAsync(async () =>
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"{ExecutablePath} is missing: run scripts/provision-test-deps.sh (apt-get install chromium)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Headless = true });
        return new Chromium(playwright, browser);
    });

    public static Task StopSharedAsync() => Shared.StopAsync();

    /// <summary>artifacts/screenshots/ at the repository's root (gitignored), created on first use.</summary>
    public static string ScreenshotPath(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Registry.sln"))) directory = directory.Parent;
        var folder = Path.Combine(directory?.FullName ?? Path.GetTempPath(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name + ".png");
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
