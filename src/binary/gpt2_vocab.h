// GPT-2 byte-level BPE alphabet.
//
// GPT-2's tokenizer never stores raw bytes in token text: each byte 0..255 is
// spelled as one Unicode code point. Bytes that are printable and not
// whitespace ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) map to the code point with the
// same value; the remaining 68 bytes (0x00..0x20, 0x7F..0xA0, 0xAD) map, in
// increasing byte order, to U+0100, U+0101, ... So ' ' (0x20) -> U+0120 "Ġ",
// '\n' (0x0A) -> U+010A "Ċ". llama.cpp's "gpt2" (BPE) vocabulary decodes token
// text through the same table.
#pragma once
#include <string>
#include <vector>

namespace modelc {

// The 256 byte symbols as UTF-8 strings; index = byte value.
std::vector<std::string> ByteLevelTokens();
// Inverse: the byte a single-symbol string stands for, or -1 if `tok` is not
// exactly one of the 256 symbols.
int UnicodeToByte(const std::string& tok);
// Code point assigned to byte b (0..255).
unsigned ByteToCodePoint(unsigned char b);

}  // namespace modelc
