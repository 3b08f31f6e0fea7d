using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Registry.V1.Web;

/// <summary>
/// Renders a repository description (Markdown, written by its owner) to HTML that cannot run script. Markdig with
/// raw HTML disabled writes only the HTML of Markdown constructs and encodes all text, so the one way left to inject
/// is a link or image address (<c>javascript:</c>, <c>data:</c>): those are checked on the parsed document and any
/// scheme but http, https and mailto is dropped. An HTML sanitizer after the renderer would be a second parser to
/// keep in step with the first; restricting the renderer's input leaves nothing for it to clean.
/// </summary>
public static class UiMarkdown
{
    private const int MaxLength = 100_000;

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UsePipeTables()
        .UseAutoLinks()
        .Build();

    public static string ToHtml(string markdown)
    {
        if (markdown.Length > MaxLength) markdown = markdown[..MaxLength];
        var document = Markdown.Parse(markdown, Pipeline);
        foreach (var link in document.Descendants<LinkInline>())
            if (!IsAllowed(link.Url)) link.Url = "#";
        foreach (var link in document.Descendants<AutolinkInline>())
            if (!IsAllowed(link.Url)) link.Url = "#";
        return document.ToHtml(Pipeline);
    }

    /// <summary>Absolute http, https and mailto addresses, and relative ones (no scheme at all).</summary>
    private static bool IsAllowed(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return true;
        var trimmed = url.Trim();
        var colon = trimmed.IndexOf(':');
        var slash = trimmed.IndexOfAny(['/', '?', '#']);
        if (colon < 0 || (slash >= 0 && slash < colon)) return true;
        var scheme = trimmed[..colon].ToLowerInvariant();
        return scheme is "http" or "https" or "mailto";
    }
}
