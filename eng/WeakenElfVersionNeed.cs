using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Marks one version requirement of an ELF shared library weak (VER_FLG_WEAK), so the dynamic linker accepts a
/// C++ runtime that lacks that version instead of refusing to load the library. Only for a requirement that no
/// relocation needs: see TorchSharpNativeCompat.targets for the one it is used on and why that is safe.
/// </summary>
public sealed class WeakenElfVersionNeed : Task
{
    private const uint VersionNeedSection = 0x6ffffffe; // SHT_GNU_verneed
    private const ushort WeakFlag = 0x2;                  // VER_FLG_WEAK

    [Required]
    public string File { get; set; } = "";

    [Required]
    public string Version { get; set; } = "";

    public override bool Execute()
    {
        var data = System.IO.File.ReadAllBytes(File);
        if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[4] != 2 || data[5] != 1)
        {
            Log.LogError($"{File} is not a 64-bit little-endian ELF file");
            return false;
        }
        var sectionTable = (long)BitConverter.ToUInt64(data, 0x28);
        var entrySize = BitConverter.ToUInt16(data, 0x3A);
        var count = BitConverter.ToUInt16(data, 0x3C);
        var wanted = Encoding.ASCII.GetBytes(Version);
        for (var i = 0; i < count; i++)
        {
            var header = sectionTable + (i * entrySize);
            if (BitConverter.ToUInt32(data, (int)header + 4) != VersionNeedSection)
            {
                continue;
            }
            var offset = (long)BitConverter.ToUInt64(data, (int)header + 0x18);
            var link = BitConverter.ToUInt32(data, (int)header + 0x28);
            var strings = (long)BitConverter.ToUInt64(data, (int)(sectionTable + (link * entrySize) + 0x18));
            while (true)
            {
                var auxCount = BitConverter.ToUInt16(data, (int)offset + 2);
                var aux = offset + BitConverter.ToUInt32(data, (int)offset + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    if (NameIs(data, strings + BitConverter.ToUInt32(data, (int)aux + 8), wanted))
                    {
                        var flags = BitConverter.ToUInt16(data, (int)aux + 4);
                        if ((flags & WeakFlag) == 0)
                        {
                            BitConverter.GetBytes((ushort)(flags | WeakFlag)).CopyTo(data, (int)aux + 4);
                            // A new file moved into place: the copy may be a hard link into the NuGet cache.
                            var patched = File + ".patched";
                            System.IO.File.WriteAllBytes(patched, data);
                            System.IO.File.Delete(File);
                            System.IO.File.Move(patched, File);
                            Log.LogMessage(MessageImportance.Low, $"{Path.GetFileName(File)}: requirement {Version} marked weak");
                        }
                        return true;
                    }
                    aux += BitConverter.ToUInt32(data, (int)aux + 12);
                }
                var next = BitConverter.ToUInt32(data, (int)offset + 12);
                if (next == 0)
                {
                    break;
                }
                offset += next;
            }
        }
        Log.LogMessage(MessageImportance.Low, $"{Path.GetFileName(File)} does not require {Version}; left as it is");
        return true;
    }

    private static bool NameIs(byte[] data, long at, byte[] name)
    {
        for (var i = 0; i < name.Length; i++)
        {
            if (data[at + i] != name[i])
            {
                return false;
            }
        }
        return data[at + name.Length] == 0;
    }
}
