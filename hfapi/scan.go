package hfapi

import "fmt"

// maxDepth bounds the nesting of JSON values the scanner follows, as encoding/json does.
const maxDepth = 10000

// scanner walks JSON text in place, checking its grammar as it skips values, so that the codec can
// find each member's value in one pass without building anything.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips c when it is next.
func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// literal skips word when it is next.
func (s *scanner) literal(word string) bool {
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return true
	}
	return false
}

// end checks that nothing but white space follows the value just read.
func (s *scanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.errorf("unexpected data after the top-level value")
	}
	return nil
}

// skipValue skips one JSON value, checking it is well-formed.
func (s *scanner) skipValue(depth int) error {
	if depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input")
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		return s.members(func([]byte) error { return s.skipValue(depth + 1) })
	case c == '[':
		return s.array(func() error { return s.skipValue(depth + 1) })
	case c == '-' || c >= '0' && c <= '9':
		return s.skipNumber()
	case s.literal("true"), s.literal("false"), s.literal("null"):
		return nil
	default:
		return s.errorf("unexpected character %q", c)
	}
}

// members walks the object at the scanner's position, calling each with every member's key token
// and the scanner at its value, which each must read.
func (s *scanner) members(each func(key []byte) error) error {
	if !s.consume('{') {
		return s.errorf("want a JSON object")
	}
	s.skipSpace()
	if s.consume('}') {
		return nil
	}
	for {
		s.skipSpace()
		start := s.pos
		if err := s.skipString(); err != nil {
			return err
		}
		key := s.data[start:s.pos]
		s.skipSpace()
		if !s.consume(':') {
			return s.errorf("want ':' after an object key")
		}
		s.skipSpace()
		if err := each(key); err != nil {
			return err
		}
		s.skipSpace()
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return nil
		}
		return s.errorf("want ',' or '}' in an object")
	}
}

// array walks the array at the scanner's position, calling each with the scanner at every element,
// which each must read.
func (s *scanner) array(each func() error) error {
	if !s.consume('[') {
		return s.errorf("want an array")
	}
	s.skipSpace()
	if s.consume(']') {
		return nil
	}
	for {
		s.skipSpace()
		if err := each(); err != nil {
			return err
		}
		s.skipSpace()
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return nil
		}
		return s.errorf("want ',' or ']' in an array")
	}
}

// skipString skips a string token, the quote being next.
func (s *scanner) skipString() error {
	if !s.consume('"') {
		return s.errorf("want a string")
	}
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		s.pos++
		switch {
		case c == '"':
			return nil
		case c < 0x20:
			return s.errorf("control character in a string")
		case c == '\\':
			if s.pos >= len(s.data) {
				return s.errorf("unexpected end of input in a string")
			}
			esc := s.data[s.pos]
			s.pos++
			switch esc {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.data)-s.pos < 4 || !isHex(s.data[s.pos]) || !isHex(s.data[s.pos+1]) ||
					!isHex(s.data[s.pos+2]) || !isHex(s.data[s.pos+3]) {
					return s.errorf("invalid \\u escape")
				}
				s.pos += 4
			default:
				return s.errorf("invalid escape \\%c", esc)
			}
		}
	}
	return s.errorf("unexpected end of input in a string")
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// skipNumber skips a number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) skipNumber() error {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.pos < len(s.data) && s.data[s.pos] >= '1' && s.data[s.pos] <= '9':
		s.digits()
	default:
		return s.errorf("invalid number")
	}
	if s.consume('.') {
		if s.digits() == 0 {
			return s.errorf("want digits after a decimal point")
		}
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return s.errorf("want digits in an exponent")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}
