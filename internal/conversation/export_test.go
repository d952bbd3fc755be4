package conversation

// SessionsForTest exposes the store to tests.
func (r *Runner) SessionsForTest() Sessions { return r.sessions }
