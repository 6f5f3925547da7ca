import Testing
import Reports

@Suite struct MarkupTests {
    @Test func escapingRemovesEveryMarkupCharacter() {
        #expect(Markup.escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(Markup.escape("line\nnext\ttab") == "line\nnext\ttab")
        #expect(Markup.escape("bell\u{7}esc\u{1b}") == "bell\\u{7}esc\\u{1B}")
    }

    @Test func tokensShowTheirWhitespace() {
        #expect(Markup.visibleToken(" the\n") == "␣the↵")
        #expect(Markup.visibleToken("\ta\r") == "⇥a␍")
        #expect(Markup.visibleToken("") == "∅")
        #expect(Markup.visibleToken("\u{1b}[31m") == "\\u{1B}[31m")
        #expect(Markup.visibleToken("\u{a0}x") == "\\u{A0}x")
        #expect(Markup.visibleToken("café") == "café")
    }

    @Test func abbreviationKeepsTheLimit() {
        #expect(Markup.abbreviated("abcdef", to: 4) == "abc…")
        #expect(Markup.abbreviated("abc", to: 4) == "abc")
    }

    @Test func colourScaleEndpointsAndCentre() {
        let diverging = ColourScale.diverging(limit: 2)
        #expect(diverging.colour(-2) == "#2166ac")
        #expect(diverging.colour(0) == "#ffffff")
        #expect(diverging.colour(2) == "#b2182b")
        #expect(diverging.colour(-50) == "#2166ac")
        #expect(diverging.colour(50) == "#b2182b")
        #expect(diverging.colour(1) == "#f4a582")            // three quarters of the way: the 7th of 9 stops
        #expect(diverging.colour(.nan) == "#bbbbbb")
        #expect(ColourScale.diverging(covering: [0.5, -3, .nan]).minimum == -3)
        let sequential = ColourScale.sequential()
        #expect(sequential.colour(0) == "#ffffff")
        #expect(sequential.colour(1) == "#3f007d")
        #expect(sequential.colour(-1) == "#ffffff")
        #expect(sequential.textColour(1) == "#ffffff")
        #expect(sequential.textColour(0) == "#222222")
    }
}
