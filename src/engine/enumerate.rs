//! Every combination of the values of finitely many variables, under one cap: how a condition
//! is proven constant (`condition`) and how two versions of a condition are compared
//! (`versioning::applicability`), both by evaluating it with the engine on each combination.

/// The most combinations enumerated for one condition (and, in versioning, one entity).
/// Beyond it, the condition is not judged by enumeration.
pub const MAX_COMBINATIONS: usize = 4096;

/// Every combination of values of variables that have `sizes[i]` values each, as the value
/// index of each variable (mixed radix, the first variable fastest); `None` when there are
/// more than `MAX_COMBINATIONS`. A variable without values gives no combination.
pub fn combinations(sizes: &[usize]) -> Option<impl Iterator<Item = Vec<usize>> + '_> {
    let mut count: usize = 1;
    for size in sizes {
        count = count.checked_mul(*size)?;
        if count > MAX_COMBINATIONS {
            return None;
        }
    }
    Some((0..count).map(move |combination| {
        let mut rest = combination;
        sizes
            .iter()
            .map(|size| {
                let index = rest % size;
                rest /= size;
                index
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::{MAX_COMBINATIONS, combinations};

    #[test]
    fn mixed_radix_first_variable_fastest_under_one_cap() {
        let all: Vec<Vec<usize>> = combinations(&[2, 3]).expect("6 combinations").collect();
        assert_eq!(
            all,
            [[0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [1, 2]].map(Vec::from)
        );
        assert_eq!(combinations(&[]).expect("one").count(), 1);
        assert_eq!(combinations(&[2, 0, 3]).expect("none").count(), 0);
        assert_eq!(
            combinations(&[2; 12]).expect("4096").count(),
            MAX_COMBINATIONS
        );
        assert!(combinations(&[2; 13]).is_none());
        assert!(combinations(&[usize::MAX, 2]).is_none());
    }
}
