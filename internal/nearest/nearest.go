// Package nearest finds the name a misspelt one was meant to be: the edit
// distance between two names, and the closest of a set within a typo's reach.
package nearest

// Distance is the Levenshtein distance between a and b: the fewest single-byte
// insertions, deletions and substitutions that turn one into the other.
func Distance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Name is the candidate closest to word, if it is within a typo's reach (a
// third of word's length, at least 2 edits); "" when none is. Ties go to the
// candidate that sorts first.
func Name(word string, candidates []string) string {
	reach := max(2, len(word)/3)
	best, bestDist := "", reach+1
	for _, c := range candidates {
		if d := Distance(word, c); d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	return best
}
