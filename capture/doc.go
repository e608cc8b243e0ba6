// Package capture turns capture files into decoded TCP segments.
//
// A Reader sniffs the file format from its magic number (pcap in both byte
// orders and timestamp resolutions, pcapng with any number of interfaces and
// link types, either of them gzip-compressed), reads records with gopacket's
// pcapgo readers and decodes each one with a Decoder into a Segment that the
// caller owns and reuses.
//
// Contracts:
//   - Every packet read is counted exactly once in Stats: as TCP, or under
//     the Reason it was not tracked (not IP, not TCP, fragment, malformed,
//     unsupported link type).
//   - Decoding an ordinary TCP packet allocates nothing. A Segment borrows
//     nothing from the packet buffer: it is valid until the caller reuses it.
//   - Errors about the file name the file, the frame number and the byte
//     offset (of the decompressed stream for gzip input) as a *FormatError.
//   - Nothing here panics on any input; the fuzz target checks it.
//
// A Reader is not safe for concurrent use. The zero Decoder is not usable:
// call NewDecoder.
package capture
