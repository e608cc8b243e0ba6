package tracker

// afterDelete counts a delete from m and returns m, or a copy of it once
// the deletes since the last copy exceed 4×len. Go's maps leave a
// tombstone in every slot a delete frees in a full group, and lookups
// probe past them: with an entry created and deleted for every dozen
// packets, probe sequences grew until lookups took a sixth of the run.
// Copying keeps them short at a quarter of an insert per delete.
func afterDelete[K comparable, V any](m map[K]V, dels *int) map[K]V {
	*dels++
	if *dels <= 4*len(m)+4096 {
		return m
	}
	fresh := make(map[K]V, len(m))
	for k, v := range m {
		fresh[k] = v
	}
	*dels = 0
	return fresh
}
