"""lossutils: the shared loss library behind every chapter, exercise and check."""
