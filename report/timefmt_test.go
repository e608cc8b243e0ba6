package report

import (
	"math/rand/v2"
	"testing"
	"time"
)

// appendRFC3339Nano is a faster copy of time's formatter: it must print
// exactly what time.Time.AppendFormat prints.
func TestAppendRFC3339NanoMatchesTime(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	times := []time.Time{
		{}, time.Unix(0, 0).UTC(), time.Unix(1, 1).UTC(), time.Unix(1700000000, 120000000).UTC(),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 5, time.UTC), time.Unix(1700000000, 5).In(east), time.Unix(1700000000, 0).Local(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		ns := r.Int64N(1 << 62)
		if r.IntN(3) == 0 {
			ns -= ns % 1000 // microsecond captures
		}
		times = append(times, time.Unix(0, ns).UTC())
	}
	for _, tm := range times {
		if got, want := string(appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("%v: got %q, want %q", tm, got, want)
		}
	}
}

func FuzzAppendRFC3339Nano(f *testing.F) {
	f.Add(int64(1700000000), int64(123456789))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec).UTC()
		if got, want := string(appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("%v: got %q, want %q", tm, got, want)
		}
	})
}

// The per-record cache of the second's text must not change a byte:
// times in the same second, the next second, across midnight and years,
// before 1970 and outside years 0-9999, and in another zone.
func TestTimeCacheMatchesTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	base := []time.Time{
		time.Date(2026, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 7, time.UTC),
		time.Unix(1700000000, 0).In(time.FixedZone("x", 3600)),
	}
	var tc timeCache
	for _, b := range base {
		tm := b
		for range 2000 {
			want := `"` + tm.Format(time.RFC3339Nano) + `"`
			if got := string(tc.appendTime(nil, tm)); got != want {
				t.Fatalf("%v: got %s, want %s", tm, got, want)
			}
			tm = tm.Add(time.Duration(r.Int64N(int64(300 * time.Millisecond))))
		}
	}
}

// A transition's time, appended from its connection's start and its
// offset, is the same text as the time itself: offsets within the cached
// second, across it, negative, and starts before 1970, at the end of year
// 9999 and in another zone.
func FuzzAppendOffset(f *testing.F) {
	for _, seed := range [][3]int64{
		{1700000000, 999999999, 1}, {1700000000, 5, -6}, {1700000000, 0, int64(3 * time.Second)},
		{-1, 999999999, 2}, {253402300799, 999999999, 1}, {1700000000, 123456789, int64(-2 * time.Second)},
	} {
		f.Add(seed[0], seed[1], seed[2], false)
	}
	f.Add(int64(1700000000), int64(0), int64(1500), true)
	f.Fuzz(func(t *testing.T, sec, nsec, d int64, zone bool) {
		start := time.Unix(sec, nsec).UTC()
		if zone {
			start = start.In(time.FixedZone("x", 3600))
		}
		var tc timeCache
		tc.appendTime(nil, start) // the record's start fills the cache
		want := `"` + start.Add(time.Duration(d)).Format(time.RFC3339Nano) + `"`
		if got := string(tc.appendOffset(nil, start, time.Duration(d))); got != want {
			t.Fatalf("%v + %v: got %s, want %s", start, time.Duration(d), got, want)
		}
	})
}
