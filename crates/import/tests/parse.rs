//! End-to-end parsing of files built in code, as an office would upload them.
#![allow(clippy::unwrap_used)]

use doorstep_domain::{Area, PhoneNumber};
use doorstep_import::{
    ImportError, ImportRow, OwnerRow, ParsedImport, RoomRow, RowError, SpaceRow, parse_file,
};
use rust_xlsxwriter::Workbook;

fn csv(text: &str) -> ParsedImport {
    parse_file("rooms.csv", text.as_bytes()).unwrap()
}

fn area(s: &str) -> Area {
    Area::parse(s).unwrap()
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

fn room(building: &str, entrance: &str, floor: i32, number: &str, a: &str) -> RoomRow {
    RoomRow {
        building: building.into(),
        entrance: entrance.into(),
        floor,
        number: number.into(),
        area: area(a),
    }
}

fn owner(name: &str, phones: &[&str]) -> OwnerRow {
    OwnerRow {
        name: name.into(),
        phones: phones.iter().map(|p| phone(p)).collect(),
    }
}

fn err(row: usize, field: &str, value: &str, message: &str) -> RowError {
    RowError {
        row,
        field: field.into(),
        value: value.into(),
        message: message.into(),
    }
}

/// The single error of a file that should have exactly one.
fn only_error(p: &ParsedImport) -> &RowError {
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    &p.errors[0]
}

/// An xlsx file whose first sheet holds `rows`; `None` leaves a cell empty.
fn xlsx(rows: &[Vec<Option<XCell>>]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Some(XCell::S(s)) => ws.write_string(r, c, *s).map(|_| ()).unwrap(),
                Some(XCell::N(n)) => ws.write_number(r, c, *n).map(|_| ()).unwrap(),
                None => {}
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

#[derive(Clone, Copy)]
enum XCell {
    S(&'static str),
    N(f64),
}
use XCell::{N, S};

#[test]
fn utf8_csv_with_bom() {
    let text =
        "\u{feff}楼栋,单元,楼层,房号,面积,业主,电话\n3号楼,2,12,1202,89.50,张三,13812345678\n";
    let p = csv(text);
    assert_eq!(p.encoding, "UTF-8");
    assert_eq!(p.errors, vec![]);
    assert_eq!(
        p.rows,
        vec![ImportRow {
            row: 2,
            room: Some(room("3号楼", "2", 12, "1202", "89.5")),
            space: None,
            owner: Some(owner("张三", &["13812345678"])),
            co_owner: false,
        }]
    );
}

#[test]
fn gbk_csv_with_chinese_headers_and_names() {
    let text = "楼号,单元号,房间号,建筑面积,业主姓名,联系电话\r\nA座,1单元,0302,120,欧阳娜娜,010-12345678\r\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test must really feed non-UTF-8 bytes"
    );
    let p = parse_file("导出.CSV", &bytes).unwrap();
    assert_eq!(p.encoding, "GBK");
    assert_eq!(p.errors, vec![]);
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.rows[0].room, Some(room("A座", "1单元", 3, "0302", "120")));
    assert_eq!(p.rows[0].owner, Some(owner("欧阳娜娜", &["010-12345678"])));
}

#[test]
fn xlsx_with_numeric_cells() {
    let bytes = xlsx(&[
        vec![
            Some(S("楼栋")),
            Some(S("房号")),
            Some(S("面积")),
            Some(S("业主")),
            Some(S("手机")),
            Some(S("备注")),
        ],
        vec![
            Some(N(3.0)),
            Some(N(202.0)),
            Some(N(89.499999999)),
            Some(S("李四")),
            Some(N(13812345678.0)),
            Some(N(1.5)),
        ],
        vec![
            Some(N(3.0)),
            Some(S("1202")),
            Some(N(100.0)),
            None,
            None,
            None,
        ],
    ]);
    let p = parse_file("房屋.xlsx", &bytes).unwrap();
    assert_eq!(p.encoding, "xlsx");
    assert_eq!(p.errors, vec![]);
    assert_eq!(
        p.rows,
        vec![
            ImportRow {
                row: 2,
                room: Some(room("3", "", 2, "202", "89.50")),
                space: None,
                owner: Some(owner("李四", &["13812345678"])),
                co_owner: false,
            },
            ImportRow {
                row: 3,
                room: Some(room("3", "", 12, "1202", "100")),
                space: None,
                owner: None,
                co_owner: false,
            },
        ]
    );
}

#[test]
fn xlsx_negative_area_shows_value_as_typed_and_row_numbers_count_title_rows() {
    let bytes = xlsx(&[
        vec![Some(S("阳光花园 2024 年房屋台账"))],
        vec![],
        vec![Some(S("楼栋")), Some(S("房号")), Some(S("面积(㎡)"))],
        vec![Some(N(1.0)), Some(N(101.0)), Some(N(-3.0))],
    ]);
    let p = parse_file("a.XLSX", &bytes).unwrap();
    let e = only_error(&p);
    assert_eq!(*e, err(4, "面积(㎡)", "-3", "must be greater than 0 m²"));
}

#[test]
fn header_variants() {
    let p = csv(
        "楼栋号,房间号, 建筑面积(㎡) ,姓名,手机号码,车位编号,车位区域\n5,501,66.6,王五,13912345678,B007,地下B1\n",
    );
    assert_eq!(p.errors, vec![]);
    assert_eq!(p.rows[0].room, Some(room("5", "", 5, "501", "66.6")));
    assert_eq!(
        p.rows[0].space,
        Some(SpaceRow {
            code: "B007".into(),
            level: "地下B1".into()
        })
    );
    assert_eq!(p.rows[0].owner, Some(owner("王五", &["13912345678"])));

    let p = csv("*栋号,室号,房屋面积（平方米）,客户名称,联系方式\n5,501,66.6,王五,13912345678\n");
    assert_eq!(p.errors, vec![]);
    assert_eq!(p.rows[0].room, Some(room("5", "", 5, "501", "66.6")));
}

#[test]
fn missing_headers_are_named() {
    let e = parse_file("a.csv", "序号,楼栋,业主\n1,3,张三\n".as_bytes()).unwrap_err();
    assert_eq!(
        e,
        ImportError::MissingHeaders {
            missing: vec!["房号".into(), "面积".into(), "车位".into()],
            found: vec!["序号".into(), "楼栋".into(), "业主".into()]
        }
    );
    let msg = e.to_string();
    assert!(msg.contains("房号, 面积, 车位"), "{msg}");
    assert!(msg.contains("headers found: 序号, 楼栋, 业主"), "{msg}");
}

#[test]
fn empty_file() {
    assert_eq!(parse_file("a.csv", b""), Err(ImportError::Empty));
    assert_eq!(
        parse_file("a.csv", b"\xEF\xBB\xBF\r\n,,\n"),
        Err(ImportError::Empty)
    );
    assert_eq!(parse_file("a.xlsx", b""), Err(ImportError::Empty));
    assert_eq!(parse_file("a.xlsx", &xlsx(&[])), Err(ImportError::Empty));
    assert!(ImportError::Empty.to_string().contains("the file is empty"));
}

#[test]
fn header_only() {
    assert_eq!(
        parse_file("a.csv", "楼栋,房号,面积\n".as_bytes()),
        Err(ImportError::Empty)
    );
    // Templates number their rows in advance; numbering alone is not data.
    assert_eq!(
        parse_file("a.csv", "序号,楼栋,房号,面积\n1,,,\n2,,,\n".as_bytes()),
        Err(ImportError::Empty)
    );
    let bytes = xlsx(&[vec![Some(S("车位号")), Some(S("业主"))]]);
    assert_eq!(parse_file("a.xlsx", &bytes), Err(ImportError::Empty));
}

#[test]
fn negative_area() {
    let p = csv("楼栋,房号,面积\n3,202,89\n3,203,-3\n");
    assert_eq!(p.rows.len(), 1);
    let e = only_error(&p);
    assert_eq!(*e, err(3, "面积", "-3", "must be greater than 0 m²"));
    assert_eq!(
        e.to_string(),
        "row 3, 面积: \"-3\" must be greater than 0 m²"
    );
}

#[test]
fn three_decimal_area_in_csv() {
    let p = csv("楼栋,房号,面积\n3,202,89.505\n");
    assert_eq!(p.rows, vec![]);
    assert_eq!(
        *only_error(&p),
        err(
            2,
            "面积",
            "89.505",
            "has more than two decimals; write the area to 0.01 m²"
        )
    );
}

#[test]
fn bad_phone() {
    let p = csv("楼栋,房号,面积,业主,电话\n3,202,89,张三,12345\n");
    assert_eq!(p.rows, vec![]);
    let e = only_error(&p);
    assert_eq!(
        (e.row, e.field.as_str(), e.value.as_str()),
        (2, "电话", "12345")
    );
    assert!(
        e.to_string()
            .starts_with("row 2, 电话: \"12345\" is not a mainland mobile number"),
        "{e}"
    );
}

#[test]
fn phone_in_scientific_notation_is_explained() {
    let p = csv("楼栋,房号,面积,业主,电话\n3,202,89,张三,1.38123E+10\n");
    assert!(only_error(&p).message.contains("scientific notation"));
}

#[test]
fn duplicate_room_names_the_earlier_row() {
    let p = csv("楼栋,单元,房号,面积\n3,1,202,89\n3,2,202,89\n\n3,1,202,90\n");
    assert_eq!(p.rows.iter().map(|r| r.row).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(
        *only_error(&p),
        err(
            5,
            "房号",
            "202",
            "is the same room as row 2 (3号楼1单元202室)"
        )
    );
}

#[test]
fn duplicate_space_names_the_earlier_row() {
    let p = csv("车位号,业主\nB007,张三\nB008,李四\nB007,王五\n");
    assert_eq!(p.rows.len(), 2);
    assert_eq!(
        *only_error(&p),
        err(4, "车位号", "B007", "is the same parking space as row 2")
    );
}

#[test]
fn row_with_neither_room_nor_space() {
    let p = csv("楼栋,房号,面积,业主,电话\n3,202,89,张三,13812345678\n,,,李四,13912345678\n");
    assert_eq!(p.rows.len(), 1);
    let e = only_error(&p);
    assert_eq!(
        *e,
        err(
            3,
            "",
            "",
            "neither a room (楼栋/房号) nor a parking space (车位)"
        )
    );
    assert_eq!(
        e.to_string(),
        "row 3: neither a room (楼栋/房号) nor a parking space (车位)"
    );
}

#[test]
fn every_error_on_a_row_is_listed() {
    let p = csv("楼栋,房号,面积,业主,电话\n,202,abc,张三,123/13812345678/456\n");
    assert_eq!(p.rows, vec![]);
    let found: Vec<(usize, &str, &str)> = p
        .errors
        .iter()
        .map(|e| (e.row, e.field.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (2, "楼栋", ""),
            (2, "面积", "abc"),
            (2, "电话", "123"),
            (2, "电话", "456")
        ]
    );
    assert_eq!(
        p.errors[0].to_string(),
        "row 2, 楼栋: is empty; a room needs 楼栋, 房号 and 面积"
    );
}

#[test]
fn phones_need_an_owner() {
    let p = csv("楼栋,房号,面积,业主,电话\n3,202,89,,13812345678\n");
    assert_eq!(
        *only_error(&p),
        err(
            2,
            "业主",
            "",
            "is empty, but a phone number is given; a phone number needs an owner name"
        )
    );

    let p = csv("楼栋,房号,面积,电话\n3,202,89,13812345678\n");
    assert_eq!(only_error(&p).field, "电话");
}

#[test]
fn owner_name_too_long() {
    let long = "名".repeat(41);
    let p = csv(&format!("楼栋,房号,面积,业主\n3,202,89,{long}\n"));
    assert_eq!(
        *only_error(&p),
        err(2, "业主", &long, "is longer than 40 characters")
    );
}

#[test]
fn multiple_phones_in_one_cell() {
    let p = csv(
        "楼栋,房号,面积,业主,电话,手机\n3,202,89,张三,\"13812345678，010-12345678; 139 1234 5678\",13812345678、13712345678\n",
    );
    assert_eq!(p.errors, vec![]);
    assert_eq!(
        p.rows[0].owner,
        Some(owner(
            "张三",
            &["13812345678", "010-12345678", "13912345678", "13712345678"]
        ))
    );

    let p = csv("楼栋,房号,面积,业主,电话\n3,202,89,张三,13812345678 13912345678\n");
    assert_eq!(
        p.rows[0].owner,
        Some(owner("张三", &["13812345678", "13912345678"]))
    );
}

#[test]
fn floor_from_column_or_room_number() {
    let p = csv("楼栋,房号,面积\n1,1202,90\n1,202,90\n1,0302,90\n1,A12,90\n");
    assert_eq!(
        p.rows
            .iter()
            .map(|r| r.room.as_ref().unwrap().floor)
            .collect::<Vec<_>>(),
        vec![12, 2, 3]
    );
    let e = only_error(&p);
    assert_eq!(
        (e.row, e.field.as_str(), e.value.as_str()),
        (5, "房号", "A12")
    );
    assert!(e.message.contains("add a 楼层 column"), "{e}");

    let p = csv("楼栋,楼层,房号,面积\n1,,1202,90\n1,B1,车库01,30\n1,,商铺1,90\n1,十二,1202B,90\n");
    assert_eq!(
        p.rows
            .iter()
            .map(|r| r.room.as_ref().unwrap().floor)
            .collect::<Vec<_>>(),
        vec![12, -1]
    );
    let found: Vec<(usize, &str, &str)> = p
        .errors
        .iter()
        .map(|e| (e.row, e.field.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(found, vec![(4, "楼层", ""), (5, "楼层", "十二")]);
}

#[test]
fn space_only_rows() {
    let p = csv("车位,区域,业主,手机\nB007,地下B1,张三,13812345678\nB008,,,\n");
    assert_eq!(p.errors, vec![]);
    assert_eq!(
        p.rows,
        vec![
            ImportRow {
                row: 2,
                room: None,
                space: Some(SpaceRow {
                    code: "B007".into(),
                    level: "地下B1".into()
                }),
                owner: Some(owner("张三", &["13812345678"])),
                co_owner: false,
            },
            ImportRow {
                row: 3,
                room: None,
                space: Some(SpaceRow {
                    code: "B008".into(),
                    level: String::new()
                }),
                owner: None,
                co_owner: false,
            },
        ]
    );
}

#[test]
fn room_and_space_on_one_row_and_mixed_rows() {
    let p = csv("楼栋,房号,面积,车位号,业主\n3,202,89,B007,张三\n3,203,90,,李四\n,,,B008,王五\n");
    assert_eq!(p.errors, vec![]);
    assert_eq!(p.rows[0].room, Some(room("3", "", 2, "202", "89")));
    assert_eq!(
        p.rows[0].space,
        Some(SpaceRow {
            code: "B007".into(),
            level: String::new()
        })
    );
    assert_eq!(
        (p.rows[1].room.is_some(), p.rows[1].space.is_some()),
        (true, false)
    );
    assert_eq!(
        (p.rows[2].room.is_some(), p.rows[2].space.is_some()),
        (false, true)
    );
}

#[test]
fn room_data_without_area_column_in_a_space_file() {
    let p = csv("楼栋,房号,车位号\n3,202,B007\n");
    assert_eq!(
        *only_error(&p),
        err(2, "面积", "", "is empty; a room needs 楼栋, 房号 and 面积")
    );
}

#[test]
fn unsupported_and_unreadable_files() {
    assert_eq!(
        parse_file("rooms.pdf", b"%PDF"),
        Err(ImportError::UnsupportedFormat("rooms.pdf".into()))
    );
    assert_eq!(
        parse_file("rooms", b"x"),
        Err(ImportError::UnsupportedFormat("rooms".into()))
    );
    assert!(matches!(
        parse_file("rooms.xlsx", b"PK\x03\x04 not really a zip"),
        Err(ImportError::Unreadable(_))
    ));
    assert!(matches!(
        parse_file("rooms.xls", b"<html><table></table></html>"),
        Err(ImportError::Unreadable(_))
    ));
    let e = parse_file("rooms.csv", &[0x81, 0x20, 0xFF, 0xFF]).unwrap_err();
    assert!(e.to_string().contains("neither UTF-8 nor GBK"), "{e}");
}

#[test]
fn workbook_renamed_to_csv_and_text_saved_as_xls_are_read() {
    let bytes = xlsx(&[vec![Some(S("车位"))], vec![Some(S("B007"))]]);
    assert_eq!(parse_file("export.csv", &bytes).unwrap().encoding, "xlsx");
    let p = parse_file("export.xls", "车位\t业主\nB007\t张三\n".as_bytes()).unwrap();
    assert_eq!(p.rows[0].owner, Some(owner("张三", &[])));
}

#[test]
fn row_error_display_without_value() {
    let e = err(7, "面积", "", "is empty; a room needs 楼栋, 房号 and 面积");
    assert_eq!(
        e.to_string(),
        "row 7, 面积: is empty; a room needs 楼栋, 房号 and 面积"
    );
}

#[test]
fn co_owner_on_a_row_of_its_own_repeats_the_room() {
    let p = csv(
        "楼栋,单元,房号,面积,业主,电话\n3,1,202,89.50,张三,13812345678\n3,1,202,89.50,李四,13912345678\n3,1,202,90,王五,13712345678\n",
    );
    assert_eq!(p.rows.len(), 2);
    assert!(!p.rows[0].co_owner);
    assert!(
        p.rows[1].co_owner,
        "same room, same area, another owner: a co-owner"
    );
    assert_eq!(p.rows[1].owner, Some(owner("李四", &["13912345678"])));
    assert_eq!(
        *only_error(&p),
        err(
            4,
            "房号",
            "202",
            "is the same room as row 2 (3号楼1单元202室) with a different area"
        )
    );
}
