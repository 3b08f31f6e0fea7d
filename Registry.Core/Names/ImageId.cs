namespace Registry.Core.Names;

/// <summary>A V1 image id: exactly 16 or 64 lowercase hex characters (docs/client-behaviour.md, 'V1 names').</summary>
public readonly record struct ImageId
{
    private ImageId(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse(string? s, out ImageId id)
    {
        id = default;
        if (s is null || (s.Length != 16 && s.Length != 64)) return false;
        foreach (var c in s)
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        id = new ImageId(s);
        return true;
    }

    public override string ToString() => Value;
}
