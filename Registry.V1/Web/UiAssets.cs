using System.Security.Cryptography;

namespace Registry.V1.Web;

/// <summary>One asset of the web interface: its content-hashed file name, media type and bytes.</summary>
public sealed record UiAsset(string FileName, string ContentType, byte[] Content, string ETag);

/// <summary>
/// The web interface's stylesheet, script and icon, embedded in the assembly (no build step, no CDN) and served under a
/// name that carries a hash of their content (<c>app.3f2a….css</c>): a page always names the current version, so the
/// files can be cached for a year and a new release is still picked up at once.
/// </summary>
public sealed class UiAssets
{
    public UiAssets()
    {
        Css = Load("app.css", "text/css; charset=utf-8");
        Script = Load("app.js", "text/javascript; charset=utf-8");
        Icon = Load("icon.svg", "image/svg+xml");
    }

    public UiAsset Css { get; }
    public UiAsset Script { get; }

    /// <summary>The page icon: named in every page's head so that browsers do not ask for a missing <c>/favicon.ico</c>.</summary>
    public UiAsset Icon { get; }

    /// <summary>The asset with this exact hashed name; null for any other name (an old hash included).</summary>
    public UiAsset? Find(string fileName) =>
        fileName == Css.FileName ? Css : fileName == Script.FileName ? Script : fileName == Icon.FileName ? Icon : null;

    private static UiAsset Load(string name, string contentType)
    {
        using var stream = typeof(UiAssets).Assembly.GetManifestResourceStream("ui/" + name)
            ?? throw new InvalidOperationException($"the embedded asset ui/{name} is missing from the build");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var content = buffer.ToArray();
        var hash = Convert.ToHexStringLower(SHA256.HashData(content))[..16];
        var dot = name.LastIndexOf('.');
        return new UiAsset($"{name[..dot]}.{hash}{name[dot..]}", contentType, content, $"\"{hash}\"");
    }
}
