package conversation

// SessionsForTest exposes the store to tests.
func (s *Service) SessionsForTest() Sessions { return s.sessions }
