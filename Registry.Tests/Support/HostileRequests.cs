using System.Globalization;
using System.Text;

namespace Registry.Tests.Support;

/// <summary>How a generated request's bytes go on the wire.</summary>
public enum Delivery
{
    /// <summary>All at once, then read the answer.</summary>
    Whole,

    /// <summary>In a few pieces with pauses between them.</summary>
    Slow,

    /// <summary>Part of the body, then the connection is closed without reading an answer.</summary>
    Abandoned,

    /// <summary>Everything sent, then the sending side is shut down (a Content-Length larger than the body ends early).</summary>
    HalfClosed,
}

/// <summary>
/// One generated request: raw bytes and how to deliver them. <see cref="OddVersion"/>: the request line names an
/// HTTP version other than 1.1, to which 505 (HTTP Version Not Supported) is a correct answer.
/// </summary>
public sealed record HostileRequest(string Summary, byte[] Bytes, Delivery Delivery, bool OddVersion);

/// <summary>
/// Generates hostile HTTP/1.1 requests from the registry's route table: random methods, mutated path segments
/// (encoded and double-encoded separators, traversal, overlong, invalid UTF-8), odd headers and bodies, and
/// wrong framing. Deterministic for a given <see cref="Random"/>.
/// </summary>
public sealed class HostileRequests(Random rng, string knownImage, string knownRepository, IReadOnlyList<string> traversalTargets)
{
    private static readonly string[] Methods = ["GET", "GET", "GET", "PUT", "PUT", "PUT", "DELETE", "HEAD", "POST", "OPTIONS", "PATCH", "TRACE", "BREW", "G\u00c9T", "get"];

    private static readonly string[] Templates =
    [
        "/_ping", "/v1/_ping", "/",
        "/v1/images/{id}/layer", "/v1/images/{id}/json", "/v1/images/{id}/ancestry", "/v1/images/{id}/checksum",
        "/v1/images/{id}/files", "/v1/images/{id}/diff",
        "/v1/repositories/{repo}/tags", "/v1/repositories/{repo}/tags/{tag}", "/v1/repositories/{repo}/tags/{tag}/json",
        "/v1/repositories/{repo}/json", "/v1/repositories/{repo}/properties", "/v1/repositories/{repo}/images",
        "/v1/repositories/{repo}/auth", "/v1/repositories/{repo}/", "/v1/repositories/{repo}",
        "/v1/users", "/v1/users/", "/v1/users/{name}/", "/v1/search?q={q}&n={n}&page={n}", "/v1/search",
    ];

    private static readonly string[] Separators = ["/", "%2F", "%2f", "%252F", "%25252F", "%5C", "\\", "//", "%2F%2F", ";", "%3B", "%00", "?", "#", "%3F", "%23"];

    private static readonly string[] Oddities =
    [
        "..", ".", "%2E%2E", "%2e%2e", "%252E%252E", ".%2E", "..%2F..", "..%5C..", "%C0%AE%C0%AE", "%C0%AF", "%FF%FE", "%ED%A0%80",
        "%00", "%0A", "%0D%0A", "%20", "+", "~", ".regtmp~x", "_inprogress", "tag_latest", "_index_images", "json", "layer",
        "%E2%80%AE", "%F0%9F%90%B3", "\u00e9", "%", "%Z1", "%%", "%u002e", "*", "$", "'", "\"", "<script>", "${x}", "CON", "NUL",
    ];

    public HostileRequest Next()
    {
        var method = Pick(Methods);
        var path = Path();
        var headers = new List<string> { "Host: 127.0.0.1" };
        var body = Body(path, out var bodyKind);
        var delivery = rng.Next(20) switch
        {
            0 => Delivery.Slow,
            1 => Delivery.Abandoned,
            2 => Delivery.HalfClosed,
            _ => Delivery.Whole,
        };

        var framing = body.Length == 0 && rng.Next(3) > 0 ? "none" : Pick(["length", "length", "length", "chunked", "short", "long", "both", "bogus"]);
        byte[] payload = body;
        switch (framing)
        {
            case "length":
                headers.Add($"Content-Length: {body.Length}");
                break;
            case "chunked":
                headers.Add("Transfer-Encoding: chunked");
                payload = Chunked(body, out var terminated);
                if (!terminated && delivery == Delivery.Whole) delivery = Delivery.HalfClosed;
                break;
            case "short":
                headers.Add($"Content-Length: {Math.Max(0, body.Length - 1 - rng.Next(Math.Max(1, body.Length)))}");
                break;
            case "long":
                headers.Add($"Content-Length: {body.Length + 1 + rng.Next(100000)}");
                if (delivery == Delivery.Whole) delivery = Delivery.HalfClosed;
                break;
            case "both":
                headers.Add($"Content-Length: {body.Length}");
                headers.Add("Transfer-Encoding: chunked");
                payload = Chunked(body, out var bothTerminated);
                if (!bothTerminated && delivery == Delivery.Whole) delivery = Delivery.HalfClosed;
                break;
            case "bogus":
                headers.Add(Pick(["Content-Length: -1", "Content-Length: 99999999999999999999", "Content-Length: 1e3", "Content-Length: 0x10",
                    "Content-Length: 5, 6", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked, identity"]));
                break;
        }

        if (rng.Next(2) == 0) headers.Add("Content-Type: " + Pick(["application/json", "application/octet-stream", "text/plain; charset=utf-7", "application/json; charset=\u00ff", "", "multipart/form-data; boundary="]));
        if (rng.Next(4) == 0) headers.Add("X-Docker-Checksum-Payload: " + Pick(["", "sha256:" + new string('0', 64), "tarsum+sha256:x", Garbage(rng.Next(1, 300))]));
        if (rng.Next(5) == 0) headers.Add("Authorization: " + Pick(["Token signature=x,repository=\"a/b\",access=write", "Basic " + Garbage(20), "Token " + Garbage(200), "Basic !!!"]));
        if (rng.Next(5) == 0) headers.Add("Range: " + Pick(["bytes=0-", "bytes=5-1", "bytes=-0", "bytes=0-0,1-1", "bytes=99999999999999999999-", "bytes=abc", "items=0-1", "bytes=-5"]));
        if (rng.Next(8) == 0) headers.Add("If-Modified-Since: " + Pick(["Thu, 01 Jan 1970 00:00:00 GMT", "yesterday", ""]));
        if (rng.Next(6) == 0) headers.Add("User-Agent: " + Pick(["docker/0.9.1 go/go1.2", "docker/1.12.6 go/go1.6 kernel/4.9 os/linux arch/amd64", "docker/99999999999999.1", Garbage(500)]));
        if (rng.Next(6) == 0) headers.Add("X-Docker-Token: " + Pick(["true", "false", Garbage(50)]));
        if (rng.Next(15) == 0) headers.Add("X-Big: " + new string('a', rng.Next(2) == 0 ? 70000 : 30000));
        if (rng.Next(15) == 0) for (var i = 0; i < 200; i++) headers.Add($"X-Many-{i}: {i}");
        if (rng.Next(30) == 0) headers.Add("Expect: 100-continue");
        if (rng.Next(40) == 0) headers.Add("Bad Header Name: x");
        headers.Add("Connection: close");

        var version = rng.Next(40) == 0 ? Pick(["HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1 extra"]) : "HTTP/1.1";
        var head = new StringBuilder().Append(method).Append(' ').Append(path).Append(' ').Append(version).Append("\r\n");
        foreach (var h in headers) head.Append(h).Append("\r\n");
        head.Append("\r\n");
        var headBytes = Encoding.UTF8.GetBytes(head.ToString());
        var bytes = new byte[headBytes.Length + payload.Length];
        headBytes.CopyTo(bytes, 0);
        payload.CopyTo(bytes, headBytes.Length);
        var summary = $"{method} {Shorten(path)} [{framing}, {bodyKind} {body.Length} B, {delivery}]";
        return new HostileRequest(summary, bytes, delivery, version != "HTTP/1.1");
    }

    private string Path()
    {
        if (rng.Next(10) == 0) return RawOddPath();
        var path = Pick(Templates);
        path = path.Replace("{id}", Image()).Replace("{repo}", Repository()).Replace("{tag}", Segment("latest"))
            .Replace("{name}", Segment("fuzzuser")).Replace("{q}", Segment("fuzz")).Replace("{n}", Number());
        if (rng.Next(12) == 0) path += Pick(["/", "//", "/extra", "%2F", "?x=1", "?x=%ff", "#frag", ";jsessionid=1", "/.."]);
        return path;
    }

    private string RawOddPath() => Pick(
    [
        "*", "", " ", "http://127.0.0.1/v1/_ping", "//v1//_ping", "/v1/../v1/_ping", "/v1/%2E%2E/_ping", "/%2e%2e/%2e%2e/etc/passwd",
        "/v1/images/../../../../etc/passwd", "/v1/repositories/" + new string('a', 9000) + "/tags", "/" + Garbage(rng.Next(1, 2000)),
        "/v1/images/" + knownImage + "/json/../../../" + Pick(traversalTargets), "/v1/repositories/ns/" + Pick(traversalTargets) + "/tags/latest",
    ]);

    private string Image() => rng.Next(8) switch
    {
        0 or 1 or 2 => knownImage,
        3 => Convert.ToHexStringLower(Bytes(rng.Next(2) == 0 ? 8 : 32)),
        4 => knownImage.ToUpperInvariant(),
        5 => Pick(traversalTargets),
        6 => knownImage[..rng.Next(1, 64)] + Pick(Oddities) + knownImage[rng.Next(1, 64)..],
        _ => Segment(knownImage),
    };

    private string Repository() => rng.Next(8) switch
    {
        0 or 1 => knownRepository,
        2 => Segment("fuzz") + Pick(Separators) + Segment("repo"),
        3 => Segment("repo"),
        4 => Pick(traversalTargets),
        5 => string.Join(Pick(Separators), Enumerable.Range(0, rng.Next(2, 8)).Select(_ => Segment("x"))),
        6 => "..%2F..%2F..%2F" + Pick(traversalTargets).Replace("/", Pick(Separators)),
        _ => new string('r', rng.Next(100, 6000)),
    };

    /// <summary>A usable segment, or a mutation of it.</summary>
    private string Segment(string valid) => rng.Next(6) switch
    {
        0 or 1 => valid,
        2 => Pick(Oddities),
        3 => valid + Pick(Oddities) + Pick(Separators) + Pick(Oddities),
        4 => Garbage(rng.Next(1, rng.Next(2) == 0 ? 40 : 600)),
        _ => Uri.EscapeDataString(Uri.EscapeDataString(valid + "/" + Pick(Oddities))),
    };

    private string Number() => Pick(["1", "0", "-1", "25", "100", "101", "abc", "99999999999999999999", "1.5", "", "%00", "1e9"]);

    private byte[] Body(string path, out string kind)
    {
        var size = rng.Next(100) switch
        {
            < 40 => 0,
            < 90 => 1,
            _ => 2,
        };
        if (size == 0)
        {
            kind = "empty";
            return [];
        }
        var json = path.Contains("/json") && !path.Contains("/tags/")
            ? $"{{\"id\": \"{knownImage}\", \"parent\": \"{Pick([knownImage, "", "x", new string('0', 64)])}\"}}"
            : path.Contains("/tags/") ? $"\"{Pick([knownImage, "", "x", knownImage.ToUpperInvariant()])}\""
            : path.Contains("/properties") ? "{\"access\": \"private\", \"description\": \"" + Garbage(rng.Next(0, 2000)) + "\"}"
            : path.Contains("/users") ? "{\"username\": \"fuzzuser\", \"password\": \"x\", \"email\": \"a@b\"}"
            : path.Contains("/images") ? $"[{{\"id\": \"{knownImage}\"}}]" : "{\"a\": 1}";
        switch (rng.Next(9))
        {
            case 0:
                kind = "json";
                return Encoding.UTF8.GetBytes(json);
            case 1:
                kind = "truncated";
                return Encoding.UTF8.GetBytes(json[..rng.Next(json.Length)]);
            case 2:
                kind = "invalid-utf8";
                var bad = Encoding.UTF8.GetBytes(json).ToList();
                bad.InsertRange(rng.Next(bad.Count), new byte[] { 0xC3, 0x28, 0xFF, 0xED, 0xA0, 0x80 });
                return bad.ToArray();
            case 3:
                kind = "nested";
                var depth = rng.Next(50, 20000);
                return Encoding.ASCII.GetBytes(new string('[', depth) + new string(']', depth));
            case 4:
                kind = "oversized";
                return Encoding.UTF8.GetBytes("\"" + new string('x', 70000 + rng.Next(10000)) + "\"");
            case 5:
                kind = "binary";
                return Bytes(size == 2 ? rng.Next(10000, 300000) : rng.Next(1, 2000));
            case 6:
                kind = "numbers";
                return Encoding.ASCII.GetBytes(Pick(["1e999999", "-0", "null", "true", "[]", "{}", "{\"id\": 1e400}", "\"\\ud800\"", "{\"id\": \"\\u0000\"}"]));
            default:
                kind = "duplicate-keys";
                return Encoding.UTF8.GetBytes($"{{\"id\": \"{knownImage}\", \"id\": \"{new string('a', 64)}\", \"parent\": null}}");
        }
    }

    /// <summary>
    /// Chunked framing of <paramref name="body"/>, sometimes with a bad size line or without the final chunk
    /// (<paramref name="terminated"/> false: the server rightly waits for more, so the caller must end the stream).
    /// </summary>
    private byte[] Chunked(byte[] body, out bool terminated)
    {
        var output = new MemoryStream();
        var offset = 0;
        while (offset < body.Length)
        {
            var n = Math.Min(body.Length - offset, rng.Next(1, 70000));
            var sizeLine = rng.Next(30) == 0 ? Pick(["zz", "-1", "ffffffffffffffffff", n.ToString("x", CultureInfo.InvariantCulture) + ";ext=1"]) : n.ToString("x", CultureInfo.InvariantCulture);
            output.Write(Encoding.ASCII.GetBytes(sizeLine + "\r\n"));
            output.Write(body, offset, n);
            output.Write("\r\n"u8);
            offset += n;
        }
        terminated = rng.Next(10) > 0;
        if (terminated) output.Write("0\r\n\r\n"u8);
        return output.ToArray();
    }

    private string Garbage(int length)
    {
        const string alphabet = "abcXYZ019-_.~/%:@!$&'()*+,;=[]{}<>|^` \u00e9\u4e2d\U0001F433";
        var sb = new StringBuilder(length);
        while (sb.Length < length)
        {
            var i = rng.Next(alphabet.Length);
            if (char.IsHighSurrogate(alphabet[i]) && i + 1 < alphabet.Length) sb.Append(alphabet, i, 2);
            else if (!char.IsLowSurrogate(alphabet[i])) sb.Append(alphabet[i]);
        }
        // The path goes on the wire as UTF-8 (Kestrel decodes it as such); '%' and ' ' stay raw on purpose.
        return sb.ToString().Replace(' ', rng.Next(2) == 0 ? '+' : '_');
    }

    private byte[] Bytes(int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private static string Shorten(string s) => s.Length <= 120 ? s : s[..100] + $"...({s.Length} chars)";
}
