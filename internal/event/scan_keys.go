package event

// Duplicate keys: the keys of every object scanContainer is inside, so a
// repeated key is found at any depth in linear time.

import (
	"fmt"
)

// linearKeys is how many keys an object may have before duplicates are
// looked up in a set instead of by comparing each pair.
const linearKeys = 32

// dupKeyError is a duplicate key inside a nested object; scanObject turns it
// into a *FieldError naming the top-level member.
type dupKeyError struct {
	key    string
	offset int
}

func (e *dupKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q in a nested object at byte %d", e.key, e.offset)
}

// keyTracker finds duplicate keys in the objects scanContainer is inside.
// It holds the keys of the open objects only (an object's keys are dropped
// when it closes), compares them one by one while an object is small and
// through a set once it is large, so any input costs linear time.
type keyTracker struct {
	keys  []string              // keys of the open objects, outermost first
	start [MaxDepth + 1]int     // by depth: index in keys of the object's first key
	set   map[depthKey]struct{} // keys of the open objects with more than linearKeys keys
}

type depthKey struct {
	depth int
	key   string
}

// open starts the object at depth (1 = outermost container).
func (k *keyTracker) open(depth int) { k.start[depth] = len(k.keys) }

// close ends the object at depth.
func (k *keyTracker) close(depth int) {
	own := k.keys[k.start[depth]:]
	if len(own) > linearKeys {
		for _, key := range own {
			delete(k.set, depthKey{depth, key})
		}
	}
	k.keys = k.keys[:k.start[depth]]
}

// add records the raw key (quotes included) of the object at depth, which
// starts at byte offset of the input.
func (k *keyTracker) add(depth int, raw []byte, escaped bool, offset int) error {
	key := string(raw[1 : len(raw)-1])
	if escaped {
		var err error
		if key, err = unquote(raw); err != nil {
			return syntaxErr(offset, "%v", err)
		}
	}
	own := k.keys[k.start[depth]:]
	if len(own) < linearKeys {
		for _, o := range own {
			if o == key {
				return &dupKeyError{key: key, offset: offset}
			}
		}
	} else {
		if len(own) == linearKeys {
			if k.set == nil {
				k.set = make(map[depthKey]struct{})
			}
			for _, o := range own {
				k.set[depthKey{depth, o}] = struct{}{}
			}
		}
		dk := depthKey{depth, key}
		if _, dup := k.set[dk]; dup {
			return &dupKeyError{key: key, offset: offset}
		}
		k.set[dk] = struct{}{}
	}
	k.keys = append(k.keys, key)
	return nil
}
