package tracker

// SetPartChunks sets how many full chunks a worker holds before it sends
// a part, and returns a function that sets it back.
func SetPartChunks(n int) func() {
	old := partChunks
	partChunks = n
	return func() { partChunks = old }
}

// PartsMerged returns how many parts s has merged; valid once Flush has
// returned.
func (s *Sharded) PartsMerged() int { return s.partsMerged }
