package store

// AllocatorDecay exposes allocatorDecay to the tests.
var AllocatorDecay = allocatorDecay
