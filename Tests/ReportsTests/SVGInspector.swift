import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses an SVG drawing as XML and records its elements, so that tests can count what was drawn.
final class SVGInspector: NSObject, XMLParserDelegate {
    struct Element {
        let name: String
        let attributes: [String: String]
        var text = ""
        /// The text of the element's `<title>` child (its tooltip).
        var tooltip = ""
    }

    private(set) var elements: [Element] = []
    private var open: [Int] = []

    /// Parses `svg`; throws the parser's error when it is not well-formed XML.
    init(_ svg: String) throws {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        guard parser.parse() else {
            throw parser.parserError ?? NSError(domain: "SVGInspector", code: 1)
        }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String]) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes))
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let closed = open.removeLast()
        if name == "title", let parent = open.last { elements[parent].tooltip = elements[closed].text }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let last = open.last { elements[last].text += string }
    }

    /// Elements named `name` whose `class` attribute is exactly `className` (any class when nil).
    func elements(_ name: String, className: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (className == nil || $0.attributes["class"] == className) }
    }

    func count(_ name: String, className: String? = nil) -> Int { elements(name, className: className).count }

    /// The text of every `<text>` and `<title>` element.
    var texts: [String] { elements.filter { $0.name == "text" || $0.name == "title" }.map(\.text) }
}
