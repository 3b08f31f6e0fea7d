namespace Registry.Core.Names;

/// <summary>The tag rule <c>^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$</c>, anchored at the true end (docs/client-behaviour.md, 'V1 names').</summary>
public static class TagName
{
    public const string InvalidMessage = "Invalid tag name (must match ^[\\w][\\w.-]{0,127}$)";

    public static bool IsValid(string? tag)
    {
        if (string.IsNullOrEmpty(tag) || tag.Length > 128) return false;
        if (!IsWord(tag[0])) return false;
        for (var i = 1; i < tag.Length; i++)
            if (!IsWord(tag[i]) && tag[i] is not ('.' or '-')) return false;
        return true;
    }

    private static bool IsWord(char c) => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '_';
}
