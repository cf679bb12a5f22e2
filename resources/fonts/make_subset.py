"""Builds NotoSansSC-subset.otf: Noto Sans CJK SC cut down to what GB2312 covers.

GB2312 holds the 6,763 common simplified Chinese characters plus kana, Greek, Cyrillic and
full-width punctuation: what SockScope's labels and most received Chinese text need, at a
fraction of the full font's size. Needs fonttools (pip install fonttools) and Debian's
fonts-noto-cjk. Run: python3 make_subset.py
"""
from fontTools import subset
from fontTools.ttLib import TTCollection

chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(ord(bytes([hi, lo]).decode("gb2312")))
        except UnicodeDecodeError:
            pass
chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | set(range(0x2000, 0x2070))

font = TTCollection("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").fonts[2]
options = subset.Options()
options.layout_features = []
options.hinting = False
options.name_languages = ["*"]
subsetter = subset.Subsetter(options)
subsetter.populate(unicodes=chars)
subsetter.subset(font)
font.save("NotoSansSC-subset.otf")
print(len(chars), "code points")
