import Foundation

/// One of the four Unicode normalization forms, with the tokenizers library's Unicode 9.0 tables:
/// scalars assigned after Unicode 9.0 (the Reiwa sign U+32FF, modifier letters such as U+A7F2,
/// newer combining marks) are kept as they are and end the runs that are normalized, since the
/// library knows neither their decompositions nor their combining classes. Foundation's own
/// tables are newer; without this, NFKC and NFKD would differ from the library on 135 scalars.
struct UnicodeNormalizer: TextNormalizer {
    enum Form { case nfc, nfd, nfkc, nfkd }
    let form: Form

    func normalize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: Self.isNewerThanTheLibraryTables) else { return normalizeRun(text) }
        var result = ""
        var run = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if Self.isNewerThanTheLibraryTables(scalar) {
                result += normalizeRun(String(run))
                run = String.UnicodeScalarView()
                result.unicodeScalars.append(scalar)
            } else {
                run.append(scalar)
            }
        }
        return result + normalizeRun(String(run))
    }

    /// Foundation's decompositions put in canonical order again (it leaves marks that come from
    /// different decompositions unsorted, e.g. Tibetan U+0F73 U+0F71), then composed from the
    /// decomposed form (its NFKC leaves the conjoining jamo of compatibility jamo uncomposed).
    private func normalizeRun(_ text: String) -> String {
        switch form {
        case .nfd: return Self.canonicallyOrdered(text.decomposedStringWithCanonicalMapping)
        case .nfkd: return Self.canonicallyOrdered(text.decomposedStringWithCompatibilityMapping)
        case .nfc:
            return Self.canonicallyOrdered(text.decomposedStringWithCanonicalMapping).precomposedStringWithCanonicalMapping
        case .nfkc:
            return Self.canonicallyOrdered(text.decomposedStringWithCompatibilityMapping)
                .precomposedStringWithCanonicalMapping
        }
    }

    /// `text` with every run of non-starters stably sorted by canonical combining class.
    private static func canonicallyOrdered(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        var start = 0
        var reordered = false
        while start < scalars.count {
            guard scalars[start].properties.canonicalCombiningClass.rawValue != 0 else {
                start += 1
                continue
            }
            var end = start + 1
            while end < scalars.count, scalars[end].properties.canonicalCombiningClass.rawValue != 0 { end += 1 }
            if end - start > 1 {
                let sorted = scalars[start..<end].enumerated().sorted { left, right in
                    (left.element.properties.canonicalCombiningClass.rawValue, left.offset)
                        < (right.element.properties.canonicalCombiningClass.rawValue, right.offset)
                }.map(\.element)
                if !sorted.elementsEqual(scalars[start..<end]) {
                    scalars.replaceSubrange(start..<end, with: sorted)
                    reordered = true
                }
            }
            start = end
        }
        return reordered ? String(scalars: scalars) : text
    }

    private static func isNewerThanTheLibraryTables(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isNewerThanTheTokenizersLibraryTables
    }
}

extension Unicode.Scalar {
    /// Whether the scalar was assigned after Unicode 9.0, the version of the tokenizers library's
    /// normalization and combining-mark tables: the library treats it as unassigned (no
    /// decomposition, combining class 0, not a mark).
    var isNewerThanTheTokenizersLibraryTables: Bool {
        guard let age = properties.age else { return false }
        return (age.major, age.minor) > (9, 0)
    }

    /// The general category in the tokenizers library's Unicode 9.0 tables, for the marks whose
    /// category changed since (found by comparing every scalar with the library).
    var generalCategoryInTheTokenizersLibrary: Unicode.GeneralCategory {
        switch value {
        case 0x1734, 0x1171E: return .nonspacingMark
        case 0x1CF2, 0x1CF3, 0xA9BD: return .spacingMark
        case 0x111C9: return .otherPunctuation
        default: return properties.generalCategory
        }
    }

    /// Whether the tokenizers library's `BertNormalizer` (`strip_accents`) drops the scalar as a non-spacing mark.
    /// Its table is Unicode 8.0's, older than the library's other tables: no mark assigned in 9.0 or later, and the
    /// Mongolian U+1885 and U+1886 (letters until 9.0) are kept (found by comparing every scalar with the library).
    var isNonspacingMarkInTheTokenizersLibraryBertTable: Bool {
        guard let age = properties.age, (age.major, age.minor) <= (8, 0), value != 0x1885, value != 0x1886 else { return false }
        return generalCategoryInTheTokenizersLibrary == .nonspacingMark
    }
}
