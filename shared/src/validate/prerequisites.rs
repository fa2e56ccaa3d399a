/// Orders nodes so that each comes after its dependencies (`dependencies[i]` lists the
/// nodes node `i` needs). On a cycle, returns it as a path that starts and ends with the
/// same node, starting from the cycle's lowest index so messages are stable.
pub(crate) fn prerequisite_order(dependencies: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = dependencies.len();
    let mut waiting_on: Vec<usize> = dependencies.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); n];
    for (node, needs) in dependencies.iter().enumerate() {
        for &need in needs {
            dependents[need].push(node);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| waiting_on[i] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        let done = order[next];
        next += 1;
        for &dependent in &dependents[done] {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                order.push(dependent);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left waits on another node left, so walking "first unfinished
    // dependency" from any of them must come back around.
    let start = (0..n)
        .find(|&i| waiting_on[i] > 0)
        .expect("some node is left");
    let mut path = vec![start];
    let mut node = start;
    loop {
        node = *dependencies[node]
            .iter()
            .find(|&&d| waiting_on[d] > 0)
            .expect("a waiting node has a waiting dependency");
        if let Some(first) = path.iter().position(|&p| p == node) {
            let mut cycle = path.split_off(first);
            let lowest = (0..cycle.len())
                .min_by_key(|&i| cycle[i])
                .expect("non-empty");
            cycle.rotate_left(lowest);
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        path.push(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first() {
        let order = prerequisite_order(&[vec![1, 2], vec![2], vec![], vec![]]).unwrap();
        let position = |n| order.iter().position(|&x| x == n).unwrap();
        assert_eq!(order.len(), 4);
        assert!(position(2) < position(1) && position(1) < position(0));
    }

    #[test]
    fn cycles_are_reported_as_paths() {
        assert_eq!(
            prerequisite_order(&[vec![1], vec![2], vec![0]]),
            Err(vec![0, 1, 2, 0])
        );
        // Node 0 only depends on the cycle 1 <-> 2; it is not part of the path.
        assert_eq!(
            prerequisite_order(&[vec![1], vec![2], vec![1]]),
            Err(vec![1, 2, 1])
        );
        assert_eq!(prerequisite_order(&[vec![0]]), Err(vec![0, 0]));
    }
}
