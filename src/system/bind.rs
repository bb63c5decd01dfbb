//! Binding a model to a knowledge base (being written).
