using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Registry.Core.Notifications;

/// <summary>
/// One event in the shape of distribution's notifications (the distribution notifications doc, 'Events'; its
/// <c>notifications/event.go</c>): every field of <see cref="EventTarget"/> is left out when empty, while
/// <c>target</c>, <c>request</c>, <c>actor</c> and <c>source</c> are always written, as Go writes structs.
/// </summary>
public sealed record RegistryEvent
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>RFC 3339 with the fraction Go writes (trailing zeros dropped), in UTC.</summary>
    [JsonPropertyName("timestamp")]
    public required string Timestamp { get; init; }

    /// <summary><see cref="EventActions"/>.</summary>
    [JsonPropertyName("action")]
    public required string Action { get; init; }

    [JsonPropertyName("target")]
    public required EventTarget Target { get; init; }

    [JsonPropertyName("request")]
    public required EventRequest Request { get; init; }

    [JsonPropertyName("actor")]
    public required EventActor Actor { get; init; }

    [JsonPropertyName("source")]
    public required EventSource Source { get; init; }

    /// <summary>Go's <c>time.Time</c> JSON form (RFC 3339 with nanoseconds, trailing zeros dropped); .NET has 100 ns ticks.</summary>
    public static string FormatTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The actions of distribution's event.go.</summary>
public static class EventActions
{
    public const string Push = "push";
    public const string Pull = "pull";
    public const string Mount = "mount";
    public const string Delete = "delete";
}

/// <summary>
/// What the event is about: distribution's descriptor fields (<c>mediaType</c>, <c>size</c>, <c>digest</c>) then
/// <c>length</c>, <c>repository</c>, <c>fromRepository</c>, <c>url</c> and <c>tag</c>, in that order.
/// </summary>
public sealed record EventTarget
{
    [JsonPropertyName("mediaType")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MediaType { get; init; }

    [JsonPropertyName("size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Size { get; init; }

    [JsonPropertyName("digest")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }

    /// <summary>The same as <see cref="Size"/>; distribution keeps it for older receivers.</summary>
    [JsonPropertyName("length")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Length { get; init; }

    [JsonPropertyName("repository")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Repository { get; init; }

    /// <summary>The source repository of a cross-repository mount.</summary>
    [JsonPropertyName("fromRepository")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FromRepository { get; init; }

    [JsonPropertyName("url")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Url { get; init; }

    [JsonPropertyName("tag")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tag { get; init; }
}

/// <summary>The request behind the event; <c>id</c>, <c>method</c> and <c>useragent</c> are written even when empty, as in Go.</summary>
public sealed record EventRequest
{
    [JsonPropertyName("id")]
    public string Id { get; init; } = "";

    [JsonPropertyName("addr")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Addr { get; init; }

    [JsonPropertyName("host")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Host { get; init; }

    [JsonPropertyName("method")]
    public string Method { get; init; } = "";

    [JsonPropertyName("useragent")]
    public string UserAgent { get; init; } = "";
}

/// <summary>The user who made the request; <c>{}</c> for an anonymous one.</summary>
public sealed record EventActor
{
    [JsonPropertyName("name")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>The registry instance: <c>host:port</c> and an id that changes at every start.</summary>
public sealed record EventSource
{
    [JsonPropertyName("addr")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Addr { get; init; }

    [JsonPropertyName("instanceID")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InstanceId { get; init; }
}

/// <summary>The body of one delivery: <c>{"events": [...]}</c>, media type <see cref="MediaType"/>.</summary>
public static class EventEnvelope
{
    /// <summary>distribution's <c>EventsMediaType</c> (distribution 2.8 still sent <c>...events.v1+json</c> with the same body).</summary>
    public const string MediaType = "application/vnd.docker.distribution.events.v2+json";

    // Go's json.MarshalIndent(envelope, "", "   ") as distribution's HTTP sink writes it: three spaces, no final newline.
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        IndentSize = 3,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(IReadOnlyList<RegistryEvent> events) =>
        JsonSerializer.SerializeToUtf8Bytes(new Envelope(events), Indented);

    /// <summary>One event on one line, as the outbox stores it.</summary>
    public static string ToLine(RegistryEvent e) => JsonSerializer.Serialize(e, Compact);

    public static RegistryEvent? FromLine(string line) => JsonSerializer.Deserialize<RegistryEvent>(line, Compact);

    private sealed record Envelope([property: JsonPropertyName("events")] IReadOnlyList<RegistryEvent> Events);
}
