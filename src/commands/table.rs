//! The one way a command prints a table (`poll --once`'s report, `inspect`'s
//! entries): columns as wide as their widest cell, two spaces apart, no
//! borders, chosen columns right-aligned; easy to read and to grep.

use comfy_table::{presets::NOTHING, CellAlignment, Table};

/// Renders `rows` under `header`; the columns numbered in `right` are
/// right-aligned (numbers). Lines carry no trailing spaces.
pub(crate) fn render(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    right: &[usize],
) -> String {
    let mut table = Table::new();
    table.load_style(NOTHING).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    let last = header.len().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        // Two spaces between columns, none before the first.
        column.set_padding((0, if i == last { 0 } else { 2 }));
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_sit_right() {
        let text = render(
            &["source", "new"],
            [
                vec!["a".to_string(), "7".to_string()],
                vec!["longer".to_string(), "120".to_string()],
            ],
            &[1],
        );
        assert_eq!(text, "source  new\na         7\nlonger  120\n");
    }
}
